"""Mailbox names on the wire: modified UTF-7 by default, UTF-8 under UTF8=ACCEPT."""

from __future__ import annotations

from mailtool.protocol.imap.errors import ImapError, ParseError
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
    try:
        return decode_mutf7(raw)
    except ParseError as exc:
        # a well-formed string naming no possible mailbox: NO, as Dovecot answers
        # (RFC 9051 §7.1.2: NO is "operational error"; the syntax was fine)
        raise ImapError(f"Invalid mailbox name: {exc.text}", status="NO") from None


def read_mailbox(cur: Cursor, *, utf8: bool = False) -> str:
    """mailbox = "INBOX" / astring."""
    return decode_mailbox(cur.astring(), utf8=utf8)


def read_list_mailbox(cur: Cursor, *, utf8: bool = False) -> str:
    """list-mailbox = 1*list-char / string (may hold the wildcards ``*`` and ``%``)."""
    raw = cur.string() if cur.peek() in (0x22, 0x7B) else cur.list_chars()
    try:
        return decode_mailbox(raw, utf8=utf8)
    except ImapError:
        # not valid modified UTF-7: it matches no mailbox, so LIST answers nothing and
        # OK (Dovecot too); NUL is in no mailbox name (RFC 9051 §4.3 CHAR8 excludes it)
        return NO_MATCH


#: a LIST pattern no mailbox name matches
NO_MATCH = "\x00"


def write_mailbox(w: Writer, name: str, *, pattern: bool = False) -> None:
    """Write a mailbox name (or LIST pattern) as an atom when possible, else a string."""
    data = name if w.utf8 else encode_mutf7(name)
    if pattern and data and all(c not in data for c in ' (){"\\\r\n\x00') and data.isascii():
        w.text(data)
    else:
        w.astring(data)
