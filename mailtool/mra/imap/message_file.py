"""A whole message sent from its file in chunks: BODY[], RFC822 (and
their partial ``<origin.length>`` forms) without reading the message into memory.

The file may hold bare LFs (a message delivered as another program wrote it);
IMAP sends CRLF (RFC 9051 §2.2), so the literal's size is only known after a
first pass, which counts, and a second, which sends (:class:`CrlfStream`
both times, so the two agree). BODY[] sends NUL as 0x80, as
:func:`mailtool.protocol.mime.section` does. BINARY[] is not the file's bytes (its
parts are decoded, RFC 3516 §4.2): FETCH parses the message for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mailtool.protocol.imap.crlf import CrlfStream
from mailtool.protocol.imap.fetch import FetchAttr, Section

#: bytes read from the file at once
READ_CHUNK = 64 * 1024
_WHOLE = Section()


def is_whole_message(a: FetchAttr) -> bool:
    """RFC822, BODY[] / BODY.PEEK[] (with or without a partial)."""
    return a.name == "RFC822" or (a.name == "BODY" and a.section == _WHOLE)


class MessageFile:
    """One open message file; :meth:`literal` gives the size, then the bytes."""

    def __init__(self, fh: BinaryIO, chunk: int = READ_CHUNK) -> None:
        self.fh = fh
        self.chunk = chunk

    def _chunks(self, nul: bool) -> Iterator[bytes]:
        self.fh.seek(0)
        crlf = CrlfStream(nul=nul)
        while chunk := self.fh.read(self.chunk):
            yield crlf.feed(chunk)

    def _window(self, a: FetchAttr, nul: bool) -> Iterator[bytes]:
        """The bytes ``a`` sends: the whole CRLF form, or its partial window."""
        origin, length = a.partial if a.partial is not None else (0, None)
        end = None if length is None else origin + length
        pos = 0
        for out in self._chunks(nul):
            start, pos = pos, pos + len(out)
            if pos <= origin:
                continue
            lo = max(origin - start, 0)
            hi = len(out) if end is None else min(end - start, len(out))
            if hi > lo:
                yield out if (lo, hi) == (0, len(out)) else out[lo:hi]
            if end is not None and pos >= end:
                return

    def literal(self, a: FetchAttr) -> tuple[int, bool, Iterator[bytes]]:
        """``(size, literal8?, chunks)`` for a whole-message item ``a``."""
        nul = a.name == "BODY"
        size = 0
        has_nul = False
        for piece in self._window(a, nul):
            size += len(piece)
            has_nul = has_nul or (a.name == "BINARY" and b"\x00" in piece)
        return size, has_nul, self._window(a, nul)

    def close(self) -> None:
        self.fh.close()


__all__ = ["READ_CHUNK", "MessageFile", "is_whole_message"]
