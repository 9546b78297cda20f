"""FETCH responses in pieces, for a server that streams them (DESIGN principle 6).

:func:`~.responses.format_response` builds a whole ``* n FETCH (...)`` response
in memory: fine for flags, not for ``BODY[]`` of a 50 MB message, nor for a
command asking for the same 1 MB section 300 times. A server streams instead:

* :func:`fetch_start` - ``* 12 FETCH (``;
* :func:`fetch_item` - one item: its text, and the literal's data apart (the
  caller writes the data in chunks; nothing joins it to the text);
* :func:`literal_header` - `` BODY[] {n}\\r\\n`` for a literal whose ``n``
  bytes the caller produces itself (a message file read in chunks);
* :data:`FETCH_END` - ``)\\r\\n``.

Sending the pieces of :func:`fetch_pieces` in order gives exactly the bytes of
``format_response(FetchData(...))`` (tests hold them equal).
"""

from __future__ import annotations

from collections.abc import Iterator

from mailtool.protocol.imap.fetch import FetchAttr, write_fetch_attr, write_fetch_item_value
from mailtool.protocol.imap.responses import FetchData
from mailtool.protocol.imap.values import Writer

FETCH_END = b")\r\n"
#: items whose value is a literal (or NIL), never a quoted string (RFC 9051 §7.5.2)
_LITERAL_NAMES = frozenset(("RFC822", "RFC822.HEADER", "RFC822.TEXT"))


def fetch_start(seq: int) -> bytes:
    """``* seq FETCH (``."""
    return b"* %d FETCH (" % seq


def is_literal_item(key: FetchAttr) -> bool:
    """Whether the item's value is sent as a literal (when not NIL): BODY[...],
    BINARY[...], RFC822, RFC822.HEADER, RFC822.TEXT."""
    if key.section is not None:
        return key.name != "BINARY.SIZE"
    return key.name in _LITERAL_NAMES


def literal_header(key: FetchAttr, size: int, *, first: bool, binary: bool = False) -> bytes:
    """`` KEY {size}\\r\\n`` (``~{size}`` for literal8, RFC 3516 §4.2): the caller
    sends exactly ``size`` bytes next."""
    w = Writer()
    if not first:
        w.raw(b" ")
    write_fetch_attr(w, key)
    w.raw(b" ~{%d}\r\n" % size if binary else b" {%d}\r\n" % size)
    return w.getvalue()


def fetch_item(
    key: FetchAttr, value: object, *, first: bool, utf8: bool = False
) -> tuple[bytes, bytes | None]:
    """One item as ``(text, literal data or None)``: the text ends with the literal
    header when data follows. A BINARY literal is a literal8 (RFC 3516 §4.2 requires
    it for NUL; Dovecot sends ``~{n}`` for every non-empty BINARY[...], and so do we)."""
    if is_literal_item(key) and value is not None:
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        assert isinstance(data, bytes | bytearray | memoryview)
        binary = key.name == "BINARY" and bool(data)
        return literal_header(key, len(data), first=first, binary=binary), bytes(data)
    w = Writer(utf8=utf8)
    if not first:
        w.raw(b" ")
    write_fetch_attr(w, key)
    w.raw(b" ")
    write_fetch_item_value(w, key, value)
    return w.getvalue(), None


def fetch_pieces(resp: FetchData, *, utf8: bool = False) -> Iterator[bytes]:
    """The response as pieces to send in order (literal data on its own)."""
    yield fetch_start(resp.seq)
    for i, (key, value) in enumerate(resp.items):
        text, data = fetch_item(key, value, first=i == 0, utf8=utf8)
        yield text
        if data is not None:
            yield data
    yield FETCH_END


__all__ = [
    "FETCH_END",
    "fetch_item",
    "fetch_pieces",
    "fetch_start",
    "is_literal_item",
    "literal_header",
]
