"""Dot-stuffing: the transparency procedure of SMTP DATA (RFC 5321 §4.5.2) and
POP3 multi-line responses (RFC 1939 §3) — the same on both.

Both halves stream: a 25 MB message goes through in chunks and is never held
twice. :class:`DotReader` (receiving) is strict about line ends because of SMTP
smuggling (2023): a server that ends DATA on ``\\n.\\n`` while the next hop ends
it only on ``\\r\\n.\\r\\n`` lets a sender hide a second message inside the
first. Here the end is ``CRLF . CRLF`` and nothing else; every bare CR and bare
LF is counted so the caller can refuse the message.
"""

from __future__ import annotations

import re

_CR_OR_LF = re.compile(rb"[\r\n]")


class DotReader:
    """Feed received bytes; get back the un-stuffed content, chunk by chunk.

    * :meth:`feed` returns the content decoded so far (never the terminator);
      bytes after the terminating ``.CRLF`` are kept in :attr:`rest` — with
      PIPELINING (RFC 2920) they are the next commands.
    * Content beyond ``max_size`` octets is dropped, not returned (the caller
      must still read to the end to stay in step) and :attr:`too_big` is set.
    * ``bare_cr`` / ``bare_lf`` count line ends that are not CRLF;
      ``long_lines`` counts lines longer than ``max_line`` (RFC 5321 §4.5.3.1.6:
      1000 octets with CRLF).

    Linear time: each byte is looked at a bounded number of times; at most two
    bytes (``.`` and ``\\r``) are held back between calls. Runs of ordinary
    lines (CRLF-ended, not starting with a dot: nearly all of a message) are
    taken whole by :meth:`_take_lines`, in C-speed bytes operations; the rest
    goes through the careful octet-level loop.
    """

    def __init__(self, max_size: int, max_line: int = 1000) -> None:
        self.max_size = max_size
        self.max_line = max_line
        self.size = 0  #: content octets seen (counted even past max_size)
        self.bare_cr = 0
        self.bare_lf = 0
        self.long_lines = 0
        self.done = False
        self.rest = b""
        self._pending = b""
        self._line_start = True
        self._line_len = 0

    @property
    def too_big(self) -> bool:
        return self.size > self.max_size

    def feed(self, data: bytes) -> bytes:
        """Content octets made available by ``data`` (possibly empty)."""
        if self.done:
            self.rest += data
            return b""
        buf = self._pending + data
        self._pending = b""
        out: list[bytes] = []
        pos, end = 0, len(buf)
        while pos < end:
            if self._line_start and buf[pos] != 0x2E:
                pos = self._take_lines(buf, pos, out)
                if pos == end:
                    break
            if self._line_start:
                self._line_start = False
                if buf[pos] == 0x2E:  # "." at the start of a line
                    if end - pos < 3:
                        tail = buf[pos:]
                        if tail in (b".", b".\r"):
                            self._pending, self._line_start = tail, True
                            break
                    if buf[pos : pos + 3] == b".\r\n":
                        self.done = True
                        self.rest = buf[pos + 3 :]
                        break
                    pos += 1  # RFC 5321 §4.5.2: drop the first of the dots
                    continue
            m = _CR_OR_LF.search(buf, pos)
            stop = m.start() if m else end
            self._emit(out, buf[pos:stop])
            pos = stop
            if not m:
                break
            if buf[pos] == 0x0A:
                self.bare_lf += 1  # a bare LF never ends a line here
                self._emit(out, b"\n")
                pos += 1
            elif pos + 1 == end:
                self._pending = b"\r"  # decide when the next byte comes
                break
            elif buf[pos + 1] == 0x0A:
                self._emit(out, b"\r\n")
                self._end_line()
                pos += 2
            else:
                self.bare_cr += 1
                self._emit(out, b"\r")
                pos += 1
        return b"".join(out)

    def _take_lines(self, buf: bytes, pos: int, out: list[bytes]) -> int:
        """At a line start: take every whole line up to the next one that starts with a
        dot, if none of them holds a bare CR or LF; returns where the careful loop goes on."""
        end = buf.find(b"\r\n.", pos)
        if end < 0:
            end = buf.rfind(b"\r\n", pos)
            if end < 0:
                return pos  # not one whole line yet
        stop = end + 2
        lines = buf[pos:stop]
        n = lines.count(b"\r\n")
        if lines.count(b"\r") != n or lines.count(b"\n") != n:
            return pos  # a bare line end in there: counted by the careful loop
        if len(lines) > self.max_line:
            self.long_lines += sum(
                len(line) + 2 > self.max_line for line in lines.split(b"\r\n")[:-1]
            )
        self._emit(out, lines)
        self._line_len = 0
        return stop

    def _emit(self, out: list[bytes], chunk: bytes) -> None:
        if not chunk:
            return
        self._line_len += len(chunk)
        if self.size + len(chunk) <= self.max_size:
            out.append(chunk)
        elif self.size < self.max_size:
            out.append(chunk[: self.max_size - self.size])
        self.size += len(chunk)

    def _end_line(self) -> None:
        if self._line_len > self.max_line:
            self.long_lines += 1
        self._line_len = 0
        self._line_start = True


class DotStuffer:
    """Stuff content for sending, chunk by chunk, without holding it twice.

    ``crlf=True`` also turns lone LFs into CRLF — what Maildir files (LF on
    disk) need before they go out as POP3 or SMTP content; a lone CR becomes
    CRLF as well, so the output never has a bare line end. :meth:`end` returns
    the terminator, with the CRLF the content lacked if it did not end with one
    (RFC 5321 §4.1.1.4).
    """

    def __init__(self, crlf: bool = True) -> None:
        self.crlf = crlf
        self._tail = b"\r\n"  # the last two octets sent (the start counts as a line start)
        self._held_cr = False  # a CR at the end of the last chunk (CRLF pending?)

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        if self.crlf:
            if self._held_cr:
                chunk = b"\r" + chunk
            self._held_cr = chunk.endswith(b"\r")
            if self._held_cr:
                chunk = chunk[:-1]
            crlf = chunk.count(b"\r\n")
            # fast path: content that is CRLF already (what SMTP stored) needs no rewrite
            if not (chunk.count(b"\r") == crlf == chunk.count(b"\n")):
                chunk = re.sub(rb"\r\n|\r|\n", b"\r\n", chunk)
            if not chunk:
                return b""
        # a dot after *any* LF is stuffed: a lenient receiver may take a bare LF
        # as a line end, and an extra dot is harmless to a strict one
        out = chunk.replace(b"\n.", b"\n..")
        if self._tail.endswith(b"\n") and out.startswith(b"."):
            out = b"." + out
        self._tail = (self._tail + out)[-2:]
        return out

    def end(self) -> bytes:
        """Flush a held CR, add the final CRLF if missing, then ``.CRLF``: the
        terminator is only ever sent after a real CRLF (no smuggling shape)."""
        out = b"\r\n" if self._held_cr or self._tail != b"\r\n" else b""
        self._held_cr, self._tail = False, b"\r\n"
        return out + b".\r\n"


def dot_stuff(content: bytes, crlf: bool = True) -> bytes:
    """The whole of ``content`` stuffed and terminated (for small messages and tests)."""
    stuffer = DotStuffer(crlf)
    return stuffer.feed(content) + stuffer.end()
