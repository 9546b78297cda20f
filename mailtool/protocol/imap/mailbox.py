"""Mailbox names on the wire: modified UTF-7 by default, UTF-8 under UTF8=ACCEPT."""

from __future__ import annotations

from mailtool.protocol.imap.errors import ParseError
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7
from mailtool.protocol.imap.tokenizer import Cursor
from mailtool.protocol.imap.values import Writer


def decode_mailbox(raw: bytes, *, utf8: bool = False) -> str:
    """Wire bytes -> Unicode name; ``INBOX`` in any case is ``INBOX`` (RFC 9051 §5.1)."""
    if raw.upper() == b"INBOX":
        return "INBOX"
    if utf8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("mailbox name is not UTF-8") from None
    return decode_mutf7(raw)


def read_mailbox(cur: Cursor, *, utf8: bool = False) -> str:
    """mailbox = "INBOX" / astring."""
    return decode_mailbox(cur.astring(), utf8=utf8)


def read_list_mailbox(cur: Cursor, *, utf8: bool = False) -> str:
    """list-mailbox = 1*list-char / string (may hold the wildcards ``*`` and ``%``)."""
    raw = cur.string() if cur.peek() in (0x22, 0x7B) else cur.list_chars()
    return decode_mailbox(raw, utf8=utf8)


def write_mailbox(w: Writer, name: str, *, pattern: bool = False) -> None:
    """Write a mailbox name (or LIST pattern) as an atom when possible, else a string."""
    data = name if w.utf8 else encode_mutf7(name)
    if pattern and data and all(c not in data for c in ' (){"\\\r\n\x00') and data.isascii():
        w.text(data)
    else:
        w.astring(data)
