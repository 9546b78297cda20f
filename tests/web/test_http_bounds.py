"""Every client-controlled resource of the HTTP server is bounded (mailtool.web.http):
request line, header block, header count, body, chunked bodies, a request deadline a
trickle cannot stretch, keep-alive idle time and requests per connection. Driven in
process over a real loopback socket with small limits."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from mailtool.net.connection import Connection
from mailtool.net.limits import ConnectionLimiter
from mailtool.net.listener import StreamListener
from mailtool.web.http import HttpLimits, Request, Response, serve_connection

T = TypeVar("T")

LIMITS = HttpLimits(request_line=128, header_bytes=256, header_count=4, body=64,
                    request_deadline=0.5, keepalive_idle=0.3, max_requests=3)  # fmt: skip


async def _echo(request: Request, conn: Connection) -> Response:
    return Response(200, f"{request.method} {request.path} {len(request.body)}".encode())


def served(scenario: Callable[[int], Awaitable[T]], limits: HttpLimits = LIMITS) -> T:
    """Run ``scenario(port)`` against a listener serving :func:`_echo` with ``limits``."""

    async def handle(conn: Connection) -> None:
        await serve_connection(conn, _echo, limits)

    async def main() -> T:
        listener = StreamListener("http", "127.0.0.1", 0, handle,
                                  limiter=ConnectionLimiter(10, 10), busy_reply=b"")  # fmt: skip
        _, port = await listener.start()
        try:
            return await scenario(port)
        finally:
            await listener.stop(1)

    return asyncio.run(main())


def exchange(data: bytes) -> bytes:
    return served(lambda port: _exchange(port, data))


async def _exchange(port: int, data: bytes, *, pause: float = 0) -> bytes:
    """Send ``data`` (then wait ``pause``), read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if pause:
        await asyncio.sleep(pause)
    out = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return out


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def test_a_request_is_answered() -> None:
    reply = exchange(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert _status(reply) == 200 and reply.endswith(b"GET /x 0")
    assert b"Connection: close" in reply


def test_post_body_is_read() -> None:
    data = b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    assert (exchange(data)).endswith(b"POST /p 5")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 300 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 5 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", 411),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"GET /\r\n\r\n", 400),
    ],
)
def test_bad_requests_get_their_status_and_a_close(request_bytes: bytes, status: int) -> None:
    reply = exchange(request_bytes)
    assert _status(reply) == status
    assert b"Connection: close" in reply


def test_a_trickled_request_meets_the_deadline() -> None:
    async def trickle(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n")

        async def one_byte_at_a_time() -> None:
            # each byte arrives well within any per-line wait; only the request's
            # deadline (LIMITS.request_deadline) ends this
            with contextlib.suppress(OSError):
                while True:
                    writer.write(b"X")
                    await writer.drain()
                    # slow enough that the header byte limit (256) is 25 s away even on
                    # a loaded machine: what ends it must be the 0.5 s deadline
                    await asyncio.sleep(0.1)

        task = asyncio.create_task(one_byte_at_a_time())
        try:
            return await asyncio.wait_for(reader.read(), 20)
        finally:
            task.cancel()
            writer.close()

    assert _status(served(trickle)) == 408


def test_keep_alive_ends_after_max_requests() -> None:
    one = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    reply = exchange(one * 5)
    assert reply.count(b"HTTP/1.1 200") == LIMITS.max_requests
    assert reply.count(b"Connection: close") == 1


def test_an_idle_kept_alive_connection_is_closed() -> None:
    reply = exchange(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # closes on idle
    assert reply.count(b"HTTP/1.1 200") == 1


def test_http10_without_keep_alive_closes() -> None:
    reply = exchange(b"GET / HTTP/1.0\r\n\r\n")
    assert _status(reply) == 200 and b"Connection: close" in reply


@pytest.mark.parametrize("linger", [LIMITS.error_linger, 0.0])
def test_an_error_reply_reaches_a_client_still_sending(linger: float) -> None:
    """A 413 for a body we will not read: the client has sent it all and reads only
    later. Closing with its body unread would reset the connection and lose the reply
    (RFC 9112 §9.6); the staged close drops the body first. ``linger=0`` shows the
    reset this guards against."""
    # more than the server's input buffer and both sockets' kernel buffers hold
    body = b"b" * 4_000_000
    limits = dataclasses.replace(LIMITS, error_linger=linger, error_linger_bytes=2 * len(body))

    async def scenario(port: int) -> bytes:
        head = f"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        return await _exchange(port, head + body, pause=0.3)

    if linger:
        assert _status(served(scenario, limits)) == 413
    else:
        with pytest.raises(ConnectionError):  # reset, or a broken pipe while sending
            served(scenario, limits)


def test_the_staged_close_ends_at_its_bound_while_others_are_served() -> None:
    """A client that keeps sending after its error reply holds its connection for
    error_linger seconds at most (or error_linger_bytes, whichever comes first), and
    another client is answered meanwhile."""
    limits = dataclasses.replace(LIMITS, error_linger=0.5, error_linger_bytes=1 << 30)

    async def scenario(port: int) -> tuple[int, float, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n")  # 414, then keep sending
        reply = await asyncio.wait_for(reader.read(), 10)  # ends at the half-close
        started = asyncio.get_running_loop().time()
        other = await _exchange(port, b"GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        try:
            while True:  # until the server has closed for good (a reset or a broken pipe)
                writer.write(b"x" * 1024)
                await writer.drain()
                await asyncio.sleep(0.01)
                assert asyncio.get_running_loop().time() - started < 10, "still lingering"
        except ConnectionError:
            pass
        writer.close()
        return _status(reply), asyncio.get_running_loop().time() - started, _status(other)

    status, lingered, other = served(scenario, limits)
    assert status == 414 and other == 200
    assert lingered < 5  # error_linger is 0.5 s; a loaded machine gets its margin
