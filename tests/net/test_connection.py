"""Connection: the bounds every listener's sessions run within.

Each test drives a real StreamListener on 127.0.0.1 with raw asyncio clients.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mailtool.net.connection import (
    ConnectionClosed,
    ConnectionLimits,
    DeadlineExceeded,
    LineTooLong,
    WriteTimeout,
)
from mailtool.net.limits import ConnectionLimiter
from mailtool.net.listener import Connection, StreamListener


async def _listen(
    handler: Callable[[Connection], Awaitable[None]], **kwargs: Any
) -> tuple[StreamListener, int]:
    limiter = kwargs.pop("limiter", ConnectionLimiter(total=100, per_ip=100))
    listener = StreamListener(
        "test", "127.0.0.1", 0, handler, limiter=limiter, busy_reply=b"busy\r\n", **kwargs
    )
    _, port = await listener.start()
    return listener, port


def test_peer_that_stops_reading_is_disconnected_and_output_stays_bounded():
    sizes: list[int] = []
    outcome: list[str] = []

    async def flood(conn: Connection) -> None:
        chunk = b"x" * 65536
        try:
            while True:
                conn.write(chunk)
                sizes.append(conn.unsent())
                await conn.drain()
        except WriteTimeout:
            outcome.append("write-timeout")

    async def main() -> None:
        limits = ConnectionLimits(output_buffer=256 * 1024, write_timeout=0.5)
        listener, port = await _listen(flood, limits=limits)
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # never read: the server must give up after write_timeout
        for _ in range(100):
            if outcome:
                break
            await asyncio.sleep(0.05)
        assert outcome == ["write-timeout"]
        # unsent output never grew past the limit plus one write
        assert max(sizes) <= 256 * 1024 + 65536
        writer.close()
        await listener.stop(grace=0.1)

    asyncio.run(main())


def test_deadline_is_not_extended_by_a_trickle():
    result: list[str] = []

    async def handler(conn: Connection) -> None:
        conn.set_deadline(0.6)
        try:
            while True:
                await conn.read_line(limit=100, timeout=10)
        except DeadlineExceeded:
            result.append("deadline")

    async def main() -> None:
        listener, port = await _listen(handler)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(20):  # one byte every 0.1 s, and a whole line now and then
            writer.write(b"a\r\n" if _ % 3 == 0 else b"a")
            await writer.drain()
            await asyncio.sleep(0.1)
            if result:
                break
        assert result == ["deadline"]
        writer.close()
        await listener.stop(grace=0.1)

    asyncio.run(main())


def test_eof_frees_the_slot_at_once_and_buffered_commands_are_answered():
    async def echo(conn: Connection) -> None:
        conn.write(b"hello\r\n")
        while True:
            line = await conn.read_line(limit=100, timeout=300)
            conn.write(b"echo " + line)

    async def main() -> None:
        limiter = ConnectionLimiter(total=100, per_ip=3)
        listener, port = await _listen(echo, limiter=limiter)
        for _ in range(10):  # connect, read the greeting, close: each slot comes back
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await reader.readline() == b"hello\r\n"
            writer.close()
        for _ in range(50):
            if limiter.open == 0:
                break
            await asyncio.sleep(0.02)
        assert limiter.open == 0
        # half-close after pipelining: the replies still come
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"one\r\ntwo\r\n")
        writer.write_eof()
        assert await reader.read() == b"hello\r\necho one\r\necho two\r\n"
        await listener.stop(grace=0.1)

    asyncio.run(main())


def test_push_back_long_lines_and_pending_input():
    seen: list[Any] = []

    async def handler(conn: Connection) -> None:
        first = await conn.read_line(limit=1000, timeout=5)
        conn.push_back(b"again:" + first)
        seen.append(await conn.read_line(limit=1000, timeout=5))
        try:
            await conn.read_line(limit=1000, timeout=5)  # 200 kB line: bigger than the buffer
        except LineTooLong:
            seen.append("too long")
        seen.append(await conn.read_line(limit=1000, timeout=5))
        # a line whose limit is above the input buffer still arrives whole
        seen.append(len(await conn.read_line(limit=300_000, timeout=5)))
        seen.append(conn.input_pending())
        seen.append(await conn.read_exactly(5, timeout=5))
        conn.write(b"done\r\n")
        with pytest.raises(ConnectionClosed):
            await conn.read(timeout=5)

    async def main() -> None:
        listener, port = await _listen(handler, limits=ConnectionLimits(input_buffer=4096))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hi\r\n" + b"z" * 200_000 + b"\r\nafter\r\n")
        writer.write(b"y" * 199_998 + b"\r\n" + b"12345")
        await writer.drain()
        assert await reader.readline() == b"done\r\n"
        writer.close()
        await listener.stop(grace=1)

    asyncio.run(main())
    assert seen == [b"again:hi\r\n", "too long", b"after\r\n", 200_000, True, b"12345"]


def test_start_tls_discards_pipelined_plaintext(certificate_authority: Any, tmp_path: Any):
    cert = certificate_authority.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    certificate_authority.configure_trust(client_ctx)
    got: list[bytes] = []

    async def handler(conn: Connection) -> None:
        await conn.read_line(limit=100, timeout=5)  # STARTTLS
        conn.write(b"220 go ahead\r\n")
        await conn.start_tls(server_ctx)
        got.append(await conn.read_line(limit=100, timeout=5))
        conn.write(b"250 " + conn.tls_info().encode() + b"\r\n")  # type: ignore[union-attr]
        await conn.drain()

    async def main() -> None:
        listener, port = await _listen(handler)
        await asyncio.to_thread(_tls_client, port, client_ctx, got)
        await listener.stop(grace=1)

    asyncio.run(main())
    assert got[0] == b"EHLO x\r\n"  # not INJECTED
    assert got[1].startswith(b"250 TLSv1.")


def _tls_client(port: int, ctx: ssl.SSLContext, got: list[bytes]) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"STARTTLS\r\nINJECTED\r\n")  # RFC 3207 §4.2: must not be read
    assert sock.recv(100) == b"220 go ahead\r\n"
    with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
        tls.sendall(b"EHLO x\r\n")
        got.append(tls.recv(100))
