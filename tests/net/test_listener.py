"""StreamListener: connection limits with the service's busy reply, bounded lines, clean stop."""

from __future__ import annotations

import asyncio

from mailtool.net.limits import ConnectionLimiter, LoginThrottle, is_loopback
from mailtool.net.listener import Connection, LineTooLong, StreamListener


async def echo_lines(conn: Connection) -> None:
    conn.write(b"hello\r\n")
    while True:
        try:
            line = await conn.read_line(limit=100, timeout=5)
        except LineTooLong:
            conn.write(b"too long\r\n")
            continue
        if line.strip() == b"quit":
            return
        conn.write(b"echo " + line)


def test_limits_busy_reply_line_bounds_and_stop():
    async def main() -> None:
        listener = StreamListener(
            "test",
            "127.0.0.1",
            0,
            echo_lines,
            limiter=ConnectionLimiter(total=10, per_ip=1),
            busy_reply=b"busy\r\n",
            buffer_limit=1024,
        )
        host, port = await listener.start()
        r1, w1 = await asyncio.open_connection(host, port)
        assert await r1.readline() == b"hello\r\n"
        # a second connection from the same IP gets the busy reply and is closed
        r2, _ = await asyncio.open_connection(host, port)
        assert await r2.readline() == b"busy\r\n"
        assert await r2.read() == b""
        # a line over the limit (and over the stream buffer) is discarded, the session lives on
        w1.write(b"x" * 5000 + b"\r\nping\r\n")
        assert await r1.readline() == b"too long\r\n"
        assert await r1.readline() == b"echo ping\r\n"
        w1.write(b"y" * 200 + b"\r\n")
        assert await r1.readline() == b"too long\r\n"
        w1.write(b"quit\r\n")
        assert await r1.read() == b""
        # the slot was released
        r3, _w3 = await asyncio.open_connection(host, port)
        assert await r3.readline() == b"hello\r\n"
        await listener.stop(grace=0.2)  # in-flight session is cancelled after the grace period
        assert await r3.read() == b""

    asyncio.run(main())


def test_login_throttle_window():
    throttle = LoginThrottle(max_failures=2, delay=0)
    assert throttle.allowed("1.2.3.4")
    throttle.failed("1.2.3.4")
    throttle.failed("1.2.3.4")
    assert not throttle.allowed("1.2.3.4")
    assert throttle.allowed("5.6.7.8")
    throttle.succeeded("1.2.3.4")
    assert throttle.allowed("1.2.3.4")


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("::2")
