"""Connection.start_compression (RFC 4978 DEFLATE): both directions compressed,
input inflated only as far as the input buffer has room, output backpressure
counted in compressed bytes."""

from __future__ import annotations

import asyncio
import os
import zlib
from typing import Any

from mailtool.net.connection import ConnectionClosed, ConnectionLimits
from mailtool.net.listener import Connection
from tests.net.test_connection import _listen


def _deflate() -> Any:
    return zlib.compressobj(wbits=-15)


def _pack(z: Any, data: bytes) -> bytes:
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


def test_lines_round_trip_compressed_both_ways():
    async def echo(conn: Connection) -> None:
        await conn.read_line(limit=100, timeout=5)  # "COMPRESS", in plain text
        conn.write(b"ok\r\n")
        conn.start_compression()
        assert conn.compressed
        while True:
            line = await conn.read_line(limit=100, timeout=5)
            conn.write(b"echo " + line)
            await conn.drain()

    async def main() -> None:
        listener, port = await _listen(echo)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"COMPRESS\r\n")
        assert await reader.readline() == b"ok\r\n"
        z, unz = _deflate(), zlib.decompressobj(wbits=-15)
        writer.write(_pack(z, b"one\r\ntwo\r\n"))
        got = b""
        while got.count(b"\r\n") < 2:
            got += unz.decompress(await reader.read(4096))
        assert got == b"echo one\r\necho two\r\n"
        writer.close()
        await listener.stop(grace=0.1)

    asyncio.run(main())


def test_a_decompression_bomb_is_inflated_only_as_far_as_the_input_buffer():
    """64 MB of zeros compress to ~64 KB: the server holds at most its input buffer
    of them inflated at any time, and still reads all of them, in order."""
    buffered: list[int] = []
    total: list[int] = []
    limits = ConnectionLimits(input_buffer=64 * 1024)
    bomb = 64 * 1024 * 1024

    async def reader_task(conn: Connection) -> None:
        conn.start_compression()
        await asyncio.sleep(0.5)  # let the whole bomb arrive before consuming
        buffered.append(conn.buffered())
        n = 0
        while n < bomb:
            n += len(await conn.read(8192, timeout=5))
            buffered.append(conn.buffered())
        total.append(n)
        conn.write(b"done")
        await conn.drain()

    async def main() -> None:
        listener, port = await _listen(reader_task, limits=limits)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        z = _deflate()
        chunk = bytes(1024 * 1024)
        for _ in range(bomb // len(chunk)):
            writer.write(z.compress(chunk))
        writer.write(z.flush(zlib.Z_SYNC_FLUSH))
        await writer.drain()
        unz = zlib.decompressobj(wbits=-15)
        assert unz.decompress(await asyncio.wait_for(reader.read(100), 60)) == b"done"
        writer.close()
        await listener.stop(grace=0.1)

    asyncio.run(main())
    assert total == [bomb]
    # never more than the input buffer inflated at once
    assert max(buffered) <= limits.input_buffer


def test_output_backpressure_counts_compressed_bytes():
    """A peer that reads nothing: drain blocks once the compressed bytes reach the
    output limit, whatever the session wrote before compression."""
    blocked_at: list[int] = []
    limit = 256 * 1024

    async def flood(conn: Connection) -> None:
        conn.start_compression()
        while not blocked_at:
            conn.write(os.urandom(65536))  # incompressible: the output grows
            try:
                await asyncio.wait_for(conn.drain(), 0.3)
            except TimeoutError:
                blocked_at.append(conn.unsent())
        conn.abort()

    async def main() -> None:
        listener, port = await _listen(flood, limits=ConnectionLimits(output_buffer=limit))
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not blocked_at:
            await asyncio.sleep(0.05)
        writer.close()
        await listener.stop(grace=0.1)

    asyncio.run(main())
    # blocked past the limit, by at most one write plus deflate's framing
    assert limit < blocked_at[0] <= limit + 65536 + 1024


def test_input_that_is_not_deflate_ends_the_connection():
    seen: list[Any] = []

    async def handler(conn: Connection) -> None:
        conn.start_compression()
        try:
            await conn.read_line(limit=100, timeout=5)
        except ConnectionClosed:
            seen.append(conn.outcome)

    async def main() -> None:
        listener, port = await _listen(handler)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\xff" * 64)  # reserved block type 3: invalid DEFLATE
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        await listener.stop(grace=0.1)

    asyncio.run(main())
    assert seen == ["bad-deflate"]
