"""What `mailtool serve` delivered, read straight from the Maildir as another program would."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.harness import MailtoolServer

#: Return-Path, Delivered-To, one Received and, on port 25, our Authentication-Results
#: (each with its folded lines), as we prepend them
_OUR_TRACE = re.compile(
    rb"\AReturn-Path: <[^>\r\n]*>\r\nDelivered-To: [^\r\n]+\r\n"
    rb"Received: from [^\r\n]+\r\n(?:\t[^\r\n]+\r\n)+"
    rb"(?:Authentication-Results: mail\.test;[^\r\n]*\r\n(?:\t[^\r\n]+\r\n)*)?"
)


def mailbox_files(server: MailtoolServer, address: str, folder: str = "") -> list[Path]:
    local, domain = address.lower().split("@")
    root = server.data_dir / "mail" / domain / local / folder
    files = [p for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()]
    return sorted(files, key=lambda p: p.stat().st_mtime_ns)


def wait_for_mail(
    server: MailtoolServer, address: str, count: int = 1, timeout: float = 20
) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while True:
        files = mailbox_files(server, address)
        if len(files) >= count:
            return [p.read_bytes() for p in files]
        if time.monotonic() > deadline:
            raise AssertionError(f"{address}: {len(files)} of {count} messages\n{server.log()}")
        time.sleep(0.05)


def split_trace(stored: bytes) -> tuple[bytes, bytes]:
    """(our trace headers, the message as the client sent it); fails if ours are missing."""
    m = _OUR_TRACE.match(stored)
    assert m, f"our trace headers are missing: {stored[:300]!r}"
    return m.group(0), stored[m.end() :]
