"""RETR and TOP bodies as a stream of byte-stuffed chunks.

A 25 MB message is read, CRLF-normalised and dot-stuffed one chunk at a
time (RFC 1939 §3), so the server holds at most a few chunks of it at once —
never the whole message, let alone twice. The session writes each chunk and
waits for the socket to drain before asking for the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mailtool.protocol.pop3 import MultilineEncoder

#: bytes read from the message file per step
CHUNK_SIZE = 256 * 1024


class TopLimiter:
    """RFC 1939 §7 TOP: the header, the blank line, then at most ``body_lines`` lines.

    Lines end at LF (a CR before it belongs to the line); a header line is
    blank when it holds nothing but CRs. Fed chunk by chunk; ``done`` once
    the limit is reached (the caller stops reading the file).
    """

    def __init__(self, body_lines: int) -> None:
        self.remaining = body_lines
        self.in_header = True
        self.line_has_text = False
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        if not self.in_header and self.remaining == 0:
            self.done = True
            return b""
        pos = 0
        end = len(chunk)
        while pos < end:
            nl = chunk.find(b"\n", pos)
            stop = end if nl < 0 else nl
            if chunk[pos:stop].strip(b"\r"):
                self.line_has_text = True
            if nl < 0:
                break
            pos = nl + 1
            if self.in_header:
                if not self.line_has_text:
                    self.in_header = False  # the blank line ends the header (RFC 5322 §2.1)
            else:
                self.remaining -= 1
            self.line_has_text = False
            if not self.in_header and self.remaining == 0:
                self.done = True
                return chunk[:pos]
        return chunk


def stuffed_chunks(
    fh: BinaryIO, body_lines: int | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The multi-line body of RETR (``body_lines`` None) or TOP, terminator included.

    Yields non-empty pieces; the last one ends with ``.CRLF``.
    """
    encoder = MultilineEncoder()
    top = TopLimiter(body_lines) if body_lines is not None else None
    while True:
        chunk = fh.read(chunk_size)
        if not chunk:
            break
        if top is not None:
            chunk = top.feed(chunk)
        out = encoder.feed(chunk)
        del chunk
        if out:
            yield out
        if top is not None and top.done:
            break
    yield encoder.end()
