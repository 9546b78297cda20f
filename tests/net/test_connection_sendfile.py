"""Connection.send_file (sendfile(2) under the connection's rules) and the read timers,
on asyncio's loop and on uvloop (what ``mailtool serve`` runs)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from mailtool.net.connection import DeadlineExceeded, ReadTimeout
from mailtool.net.limits import ConnectionLimiter
from mailtool.net.listener import Connection, StreamListener

LOOPS = ["asyncio", "uvloop"]


def run(loop_name: str, main: Callable[[], Awaitable[None]]) -> None:
    factory = None
    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


async def _listen(handler: Callable[[Connection], Awaitable[None]]) -> tuple[StreamListener, int]:
    listener = StreamListener(
        "test", "127.0.0.1", 0, handler,
        limiter=ConnectionLimiter(total=10, per_ip=10), busy_reply=b"busy\r\n",
    )  # fmt: skip
    _, port = await listener.start()
    return listener, port


async def _wait_until(done: Callable[[], bool], seconds: float = 2.0) -> None:
    """Poll ``done`` every 50 ms for up to ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)


async def send_whole_file(conn: Connection, fd: int, size: int, chunk: int) -> list[str]:
    """What a protocol does: send_file while the socket takes it, else write + drain."""
    ways = []
    offset = 0
    while offset < size:
        count = min(chunk, size - offset)
        sent = conn.send_file(fd, offset, count)
        ways.append("sendfile" if sent else "write")
        if not sent:
            data = os.pread(fd, count, offset)
            conn.write(data)
            sent = len(data)
        offset += sent
        await conn.drain()
    return ways


@pytest.mark.parametrize("loop_name", LOOPS)
def test_send_file_keeps_the_bytes_in_order_with_writes(tmp_path: Path, loop_name: str) -> None:
    content = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "blob"
    path.write_bytes(content)
    ways: list[str] = []

    async def handler(conn: Connection) -> None:
        assert conn.can_send_file
        conn.write(b"head\r\n")
        with open(path, "rb") as fh:
            ways.extend(await send_whole_file(conn, fh.fileno(), len(content), 256 * 1024))
        conn.write(b"tail\r\n")
        await conn.drain()

    async def main() -> None:
        listener, port = await _listen(handler)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = await reader.readexactly(len(content) + 12)
        assert data == b"head\r\n" + content + b"tail\r\n"
        writer.close()
        await listener.stop(grace=0.1)

    run(loop_name, main)
    assert "sendfile" in ways  # a reading peer on loopback takes most of it directly


@pytest.mark.parametrize("loop_name", LOOPS)
def test_send_file_refuses_while_output_is_queued(tmp_path: Path, loop_name: str) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * 4096)
    results: list[Any] = []

    async def handler(conn: Connection) -> None:
        with open(path, "rb") as fh:
            while conn.unsent() == 0:  # the peer reads nothing: the socket fills up
                conn.write(b"y" * 65536)
            results.append(conn.send_file(fh.fileno(), 0, 4096))
        conn.abort()

    async def main() -> None:
        listener, port = await _listen(handler)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if results:
                break
            await asyncio.sleep(0.05)
        writer.close()
        await listener.stop(grace=0.1)

    run(loop_name, main)
    assert results == [0]  # bytes queued before it would come after the file's


@pytest.mark.parametrize("loop_name", LOOPS)
def test_read_timers_name_what_ran_out(loop_name: str) -> None:
    """A silent peer: the read's own timeout gives ReadTimeout, the connection's deadline
    (when it comes first) DeadlineExceeded; a line that arrives in time is read."""
    results: list[str] = []

    async def handler(conn: Connection) -> None:
        try:
            await conn.read_line(100, timeout=0.2)
        except ReadTimeout as exc:
            results.append(type(exc).__name__)
        results.append((await conn.read_line(100, timeout=5)).decode())
        conn.set_deadline(0.2)
        try:
            await conn.read_exactly(10, timeout=5)
        except DeadlineExceeded as exc:
            results.append(type(exc).__name__)

    async def main() -> None:
        listener, port = await _listen(handler)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.4)
        writer.write(b"hello\r\n")
        await _wait_until(lambda: len(results) == 3)
        writer.close()
        await listener.stop(grace=0.1)

    run(loop_name, main)
    assert results == ["ReadTimeout", "hello\r\n", "DeadlineExceeded"]


@pytest.mark.parametrize("loop_name", LOOPS)
def test_the_read_timer_kept_armed_serves_each_read_its_own_time(loop_name: str) -> None:
    """One timer serves a connection's reads: armed for the first read's time, it
    re-arms for a later read that has longer (which is not cut short), and a read
    that must end sooner arms it at once; a closed connection leaves no timer behind."""
    results: list[tuple[str, float]] = []
    conns: list[Connection] = []

    async def handler(conn: Connection) -> None:
        conns.append(conn)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for timeout in (0.3, 3.0, 0.2, 5.0):  # 0.3 s timer: fires while the 3 s read waits
            try:
                line = (await conn.read_line(100, timeout=timeout)).decode().strip()
            except ReadTimeout:
                line = "timeout"
            results.append((line, round(loop.time() - start, 1)))

    async def main() -> None:
        listener, port = await _listen(handler)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"first\r\n")  # read 1 returns at once, its timer stays armed
        await asyncio.sleep(0.6)
        writer.write(b"second\r\n")  # read 2 (3 s) is still waiting: not timed out
        await asyncio.sleep(0.6)  # read 3 times out after 0.2 s, not at the armed 3 s
        writer.write(b"fourth\r\n")
        await _wait_until(lambda: len(results) == 4)
        writer.close()
        await _wait_until(lambda: conns[0]._lost)
        await listener.stop(grace=0.1)

    run(loop_name, main)
    assert [r[0] for r in results] == ["first", "second", "timeout", "fourth"]
    assert results[1][1] >= 0.5  # the second line, at ~0.6 s: read 2 outlived the 0.3 s timer
    assert 0.15 <= results[2][1] - results[1][1] <= 0.55  # 0.2 s, not read 2's 3 s
    assert conns[0]._timer is None
