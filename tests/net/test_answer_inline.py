"""Connection.answer_inline: lines answered from the input callback keep every bound.

A real StreamListener on 127.0.0.1 and raw asyncio clients, as in test_connection.py.
The handler answers ``PING`` inline and leaves other lines to the session, which
answers them in its read_line loop."""

from __future__ import annotations

import asyncio
import socket
import time

from mailtool.net.connection import ConnectionLimits, LineTooLong, ReadTimeout, WriteTimeout
from mailtool.net.listener import Connection
from tests.net.test_connection import _listen

LIMIT = 100


def ping_session(
    log: list[str], timeout: float = 10, reply: bytes = b"PONG\r\n",
    unsent: list[int] | None = None,
):
    """A session that answers ``PING`` inline and echoes anything else through its loop;
    ``log`` gets what it answered the ordinary way, and how it ended; ``unsent`` the
    unsent output after each inline answer."""

    async def session(conn: Connection) -> None:
        def inline(line: bytes) -> bool:
            if line != b"PING\r\n":
                return False
            conn.write(reply)
            if unsent is not None:
                unsent.append(conn.unsent())
            return True

        conn.answer_inline(inline, LIMIT, timeout)
        try:
            while True:
                try:
                    line = await conn.read_line(LIMIT, timeout)
                except LineTooLong:
                    log.append("too long")
                    conn.write(b"TOO LONG\r\n")
                    continue
                log.append(line.decode().strip())
                conn.write(b"ECHO " + line)
                await conn.drain()
        except ReadTimeout:
            log.append("timeout")
        except WriteTimeout:
            log.append("write-timeout")
        except ConnectionError:
            log.append("closed")

    return session


async def read_lines(reader: asyncio.StreamReader, n: int) -> list[bytes]:
    return [await asyncio.wait_for(reader.readline(), 5) for _ in range(n)]


def test_answers_keep_the_order_of_the_lines():
    """Inline answers stop at the first line the handler leaves: the session answers it
    and what follows, in order, whatever mix arrives in one packet."""
    log: list[str] = []

    async def main() -> None:
        listener, port = await _listen(ping_session(log))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"PING\r\nA\r\nPING\r\nB\r\nPING\r\n")
        got = await read_lines(reader, 5)
        writer.write(b"PING\r\n")
        got += await read_lines(reader, 1)
        writer.close()
        await listener.stop(grace=0.1)
        assert got == [b"PONG\r\n", b"ECHO A\r\n", b"ECHO PING\r\n", b"ECHO B\r\n",
                       b"ECHO PING\r\n", b"PONG\r\n"]  # fmt: skip
        assert log[:4] == ["A", "PING", "B", "PING"]

    asyncio.run(main())


def test_the_tail_of_a_too_long_line_is_not_a_command():
    """A line over the limit is discarded whole by the session: its tail, even one that
    looks like a command, is never offered to the inline handler."""
    log: list[str] = []

    async def main() -> None:
        listener, port = await _listen(ping_session(log))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x" * (2 * LIMIT))
        await writer.drain()
        await asyncio.sleep(0.2)  # the session is discarding: waits for the newline
        writer.write(b"PING\r\n")  # the end of the too-long line
        writer.write(b"A\r\n")
        got = await read_lines(reader, 2)
        writer.close()
        await listener.stop(grace=0.1)
        assert got == [b"TOO LONG\r\n", b"ECHO A\r\n"]

    asyncio.run(main())


def test_answered_lines_restart_the_idle_timeout_and_silence_still_ends_it():
    """The read waiting behind inline answers times out ``timeout`` after the last
    answered line, not after its own start."""
    log: list[str] = []
    timeout = 0.6

    async def main() -> None:
        listener, port = await _listen(ping_session(log, timeout=timeout))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        start = time.monotonic()
        for _ in range(8):  # 1.6 s of PINGs: over twice the timeout
            writer.write(b"PING\r\n")
            assert await read_lines(reader, 1) == [b"PONG\r\n"]
            await asyncio.sleep(0.2)
        assert log == [], log  # still connected
        writer.write(b"HELLO\r\n")
        assert await read_lines(reader, 1) == [b"ECHO HELLO\r\n"]
        assert await asyncio.wait_for(reader.read(), 5) == b""  # then silence: dropped
        elapsed = time.monotonic() - start
        writer.close()
        await listener.stop(grace=0.1)
        assert log == ["HELLO", "timeout"]
        assert elapsed < 1.6 + 2 * timeout + 1.0

    asyncio.run(main())


def test_a_peer_that_never_reads_its_answers_stays_bounded():
    """Pipelined lines whose answers are never read: inline answers stop once unsent
    output is over its bound, the session's drain takes over and drops the peer at
    ``write_timeout``; unsent output never grew past the bound plus one answer."""
    log: list[str] = []
    answer = b"P" * 4000 + b"\r\n"
    most: list[int] = []

    async def main() -> None:
        limits = ConnectionLimits(output_buffer=64 * 1024, write_timeout=0.5)
        session = ping_session(log, reply=answer, unsent=most)
        listener, port = await _listen(session, limits=limits)
        # a small receive window, set before the handshake: the kernel cannot take in
        # megabytes of answers, so the session's own bound is what is reached
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        _reader, writer = await asyncio.open_connection(sock=sock)
        writer.transport.set_write_buffer_limits(high=4 * 1024 * 1024)
        writer.write(b"PING\r\n" * 20000)  # 80 MB of answers if they were all made
        for _ in range(100):
            if "write-timeout" in log:
                break
            await asyncio.sleep(0.05)
        writer.close()
        await listener.stop(grace=0.1)
        assert "write-timeout" in log
        assert most, "no line was answered inline"
        assert max(most) <= 64 * 1024 + 2 * len(answer), max(most)

    asyncio.run(main())


def test_the_start_of_a_line_wakes_no_read(monkeypatch):
    """Whole lines answered inline and the start of the next one left: the waiting read is
    not woken for it (it would only wait again); once the line is whole it is answered
    inline too, and a line's start over the limit still reaches the read."""
    log: list[str] = []
    wakes: list[int] = []
    wake = Connection._wake_reader

    def counted(self: Connection) -> None:
        wakes.append(1)
        wake(self)

    monkeypatch.setattr(Connection, "_wake_reader", counted)

    async def main() -> None:
        listener, port = await _listen(ping_session(log))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"PING\r\nPI")
        got = await read_lines(reader, 1)
        await asyncio.sleep(0.1)
        woken = len(wakes)
        writer.write(b"NG\r\n")
        got += await read_lines(reader, 1)
        await asyncio.sleep(0.1)
        assert len(wakes) == woken, "the rest of the line woke the read"
        writer.write(b"x" * (LIMIT + 10))  # no end of line, over the limit: the read decides
        await asyncio.sleep(0.1)
        assert len(wakes) > woken, "a line's start over the limit never reached the read"
        writer.write(b"x\r\n")
        got += await read_lines(reader, 1)
        writer.close()
        await listener.stop(grace=0.1)
        assert woken == 0, "the start of a line woke the read"
        assert got == [b"PONG\r\n", b"PONG\r\n", b"TOO LONG\r\n"]

    asyncio.run(main())
