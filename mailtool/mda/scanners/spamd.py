"""SpamAssassin's spamd, SPAMC/1.5 ``SYMBOLS``: score, threshold and the rules that hit.

Request: ``SYMBOLS SPAMC/1.5``, ``Content-length``, blank line, message.
Response: ``SPAMD/1.x 0 EX_OK``, headers including
``Spam: True ; 1002.7 / 5.0``, blank line, comma-separated rule names.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from mailtool.mda.scanners import ScannerDown
from mailtool.mda.scanners.connect import talk

#: a spamd reply is headers plus a list of rule names; bound what we read
MAX_REPLY = 64 * 1024
_SPAM_RE = re.compile(
    r"^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[0-9.]+)\s*/\s*(-?[0-9.]+)", re.I | re.M
)


@dataclass(frozen=True)
class SpamResult:
    spam: bool  # spamd's own opinion against its required_score
    score: float
    threshold: float
    symbols: tuple[str, ...] = ()


def parse_reply(reply: bytes) -> SpamResult:
    text = reply.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    status = head.split("\r\n", 1)[0].split()
    if len(status) < 3 or not status[0].startswith("SPAMD/") or status[1] != "0":
        raise ScannerDown(f"spamd: {head.splitlines()[0][:200] if head else 'empty reply'}")
    m = _SPAM_RE.search(head)
    if not m:
        raise ScannerDown("spamd: reply without a Spam: header")
    symbols = tuple(s.strip() for s in body.replace("\r\n", "").split(",") if s.strip())
    return SpamResult(m.group(1).lower() in ("true", "yes"), float(m.group(2)),
                      float(m.group(3)), symbols)  # fmt: skip


async def scan(message: bytes, address: str, timeout: float, user: str = "mailtool") -> SpamResult:
    """Ask spamd at ``address`` ("HOST:PORT" or a socket path) about ``message``."""

    async def conversation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        head = b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\nUser: %s\r\n\r\n"
        writer.write(head % (len(message), user.encode()) + message)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        reply = b""
        while len(reply) < MAX_REPLY:
            chunk = await reader.read(MAX_REPLY - len(reply))
            if not chunk:
                break
            reply += chunk
        return reply

    return parse_reply(await talk(address, "spamd", timeout, conversation))
