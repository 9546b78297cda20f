"""RETR and TOP bodies as a stream of byte-stuffed chunks.

A 25 MB message is read, CRLF-normalised and dot-stuffed one chunk at a
time (RFC 1939 §3), so the server holds at most a few chunks of it at once —
never the whole message, let alone twice. The session writes each chunk and
waits for the socket to drain before asking for the next.
"""

from __future__ import annotations

import io
import mmap
import os
import re
from collections.abc import Iterator
from typing import BinaryIO

from mailtool.protocol.pop3 import MultilineEncoder

#: bytes read from the message file per step
CHUNK_SIZE = 256 * 1024
#: messages at least this large go out with sendfile(2) when they need no stuffing
SENDFILE_MIN = CHUNK_SIZE
#: a CR that does not start a CRLF (mmap has no ``count``; sre scans for the CR in C)
_BARE_CR = re.compile(rb"\r[^\n]")
#: a line start that needs a dot in front (sre finds it faster than ``bytes.replace``)
_LINE_DOT = re.compile(rb"\n\.")
#: octets of the file mapped at a time while scanning it (a multiple of mmap's granularity)
SCAN_WINDOW = 1024 * mmap.ALLOCATIONGRANULARITY


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


def read_start(fh: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[bytes, bool]:
    """The first chunk of ``fh`` (at most two chunks), and whether that is all of it.

    A plain file's short read is its end (POSIX read(2) on a regular file), so a
    small message costs one read(2); any other stream is asked once more."""
    data = fh.read(chunk_size) or b""
    if len(data) >= chunk_size:
        return data, False
    if isinstance(fh, io.FileIO):
        return data, True
    more = fh.read(chunk_size) or b""
    return data + more, not more


def stuff_whole(data: bytes, wire_size: int, head: bytes = b"") -> bytes:
    """``head`` then the whole message ``data`` byte-stuffed and terminated: what
    :class:`MultilineEncoder` makes of it (RFC 1939 §3), cheaper when the file is
    CRLF already (a length equal to ``wire_size``, the index's CRLF size, means no
    bare LF; as many CRs as LFs then means no bare CR): one substitution in C
    instead of three counts and a line-end rewrite, and one copy into the answer."""
    if len(data) == wire_size and data.count(b"\r") == data.count(b"\n"):
        out = _LINE_DOT.sub(b"\n..", data)
        lead = b"." if out[:1] == b"." else b""
        end = b".\r\n" if not out or out.endswith(b"\r\n") else b"\r\n.\r\n"
        return b"".join((head, lead, out, end))
    encoder = MultilineEncoder()
    return head + encoder.feed(data) + encoder.end()


def sendable_as_is(fh: BinaryIO, wire_size: int) -> int:
    """The size of the message file ``fh`` when it can go out exactly as stored
    (RFC 1939 §3: CRLF line ends, no line starting with ".", a final CRLF), else 0.

    For plain files of at least :data:`SENDFILE_MIN` octets only (a smaller one is
    one read and one write anyway). A size equal to ``wire_size``, the index's
    CRLF size, means no bare LF (the index counted them); the rest is a scan of
    the file mapped read-only, which copies nothing (Maildir files are never
    truncated in place, which a mapping would not survive). Blocking: call it in
    a thread.
    """
    if not isinstance(fh, io.FileIO):
        return 0
    fd = fh.fileno()
    size = os.fstat(fd).st_size
    if size < SENDFILE_MIN or size != wire_size:
        return 0
    if os.pread(fd, 1, 0) == b"." or os.pread(fd, 2, size - 2) != b"\r\n":
        return 0
    for start in range(0, size, SCAN_WINDOW):
        # one window mapped at a time (mapped pages count in the RSS); each reaches one
        # octet into the next, so a "\n." or "\r?" across the seam is seen
        length = min(SCAN_WINDOW + 1, size - start)
        with mmap.mmap(fd, length, prot=mmap.PROT_READ, offset=start) as view:
            if view.find(b"\n.") >= 0 or _BARE_CR.search(view):
                return 0
    return size


def stuffed_chunks(
    fh: BinaryIO, body_lines: int | None = None, chunk_size: int = CHUNK_SIZE,
    first: bytes = b"",
) -> Iterator[bytes]:
    """The multi-line body of RETR (``body_lines`` None) or TOP, terminator included;
    ``first``: what the caller already read from ``fh``.

    Yields non-empty pieces; the last one ends with ``.CRLF``.
    """
    encoder = MultilineEncoder()
    top = TopLimiter(body_lines) if body_lines is not None else None
    while True:
        chunk, first = (first or fh.read(chunk_size)), b""
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
