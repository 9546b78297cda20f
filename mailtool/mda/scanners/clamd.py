"""ClamAV's clamd, INSTREAM command (clamd(8)): is there a virus in this message?

``zINSTREAM\\0``, then chunks of <4-byte big-endian length><data>, then a
zero length; clamd answers ``stream: OK`` or ``stream: <Signature> FOUND``
(NUL-terminated with the ``z`` prefix). Every step has the one timeout.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from mailtool.mda.scanners import ScannerDown
from mailtool.mda.scanners.connect import talk

CHUNK = 64 * 1024
#: clamd's reply is one short line; anything longer is not clamd
MAX_REPLY = 4096


@dataclass(frozen=True)
class ClamResult:
    infected: bool
    signature: str | None = None


def parse_reply(reply: bytes) -> ClamResult:
    """``stream: OK`` / ``stream: Name FOUND``; an ``ERROR`` reply is ScannerDown."""
    text = reply.rstrip(b"\0\r\n").decode("utf-8", "replace")
    _, _, verdict = text.partition(": ")
    if verdict == "OK":
        return ClamResult(False)
    if verdict.endswith(" FOUND"):
        return ClamResult(True, verdict.removesuffix(" FOUND").strip())
    raise ScannerDown(f"clamd: {text[:200] or 'empty reply'}")


async def scan(message: bytes, address: str, timeout: float) -> ClamResult:
    """Send ``message`` to clamd at ``address`` ("HOST:PORT" or a socket path)."""

    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        writer.write(b"zINSTREAM\0")
        for start in range(0, len(message), CHUNK):
            chunk = message[start : start + CHUNK]
            writer.write(struct.pack(">I", len(chunk)) + chunk)
            await writer.drain()
        writer.write(struct.pack(">I", 0))
        await writer.drain()
        return await reader.readuntil(b"\0")

    reply = await talk(address, "clamd", timeout, conversation)
    return parse_reply(reply[:MAX_REPLY])
