"""What `mailtool serve` delivered: read straight from the Maildir as another program
would, or, on the PostgreSQL backend, through the store (``Stores`` on the server's
config): :func:`mailbox_messages` and :func:`wait_for_mail` serve both."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mailtool import config as config_mod
from mailtool.errors import NotFound
from mailtool.store.backends import Stores
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


@contextlib.contextmanager
def server_stores(server: MailtoolServer) -> Iterator[Stores]:
    """The stores of ``server``'s config, as another process (the CLI) would open them."""
    stores = Stores(config_mod.from_dict(dict(server.config)), application_name="tests")
    try:
        yield stores
    finally:
        stores.close()


def mailbox_messages(server: MailtoolServer, address: str, folder: str = "") -> list[bytes]:
    """The messages in ``address``'s ``folder`` (Maildir++ name: "" INBOX, ".Junk"),
    oldest first, on either backend."""
    if not server.store_url:
        return [p.read_bytes() for p in mailbox_files(server, address, folder)]
    with server_stores(server) as stores:
        try:
            box: Any = stores.mail.user(address).folder(folder.lstrip(".") or "INBOX")
            return [box.read_bytes(m.uid) for m in box.messages()]
        except NotFound:
            return []


def wait_for_mail(
    server: MailtoolServer, address: str, count: int = 1, timeout: float = 20
) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while True:
        found = mailbox_messages(server, address)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{address}: {len(found)} of {count} messages\n{server.log()}")
        time.sleep(0.05)


def split_trace(stored: bytes) -> tuple[bytes, bytes]:
    """(our trace headers, the message as the client sent it); fails if ours are missing."""
    m = _OUR_TRACE.match(stored)
    assert m, f"our trace headers are missing: {stored[:300]!r}"
    return m.group(0), stored[m.end() :]
