"""mbox files in and out: streamed, ``>From `` quoting undone, mutt's flag headers read.

**Reading.** A message starts at a ``From `` line that opens the file or follows an
empty line and carries a date (``From sender Mon Dec  7 04:22:05 2026``, the
asctime form mutt, Postfix and procmail write, in local time); the empty line
before the next one is the format's, not the message's. The file is read a line
(at most :data:`LINE_CHUNK` bytes) at a time: never whole, and a message is kept
only up to the size limit (:class:`MboxMessage.too_big` beyond that). Body lines
quoted by the writer are unquoted: mboxrd (``>>From `` -> ``>From ``, the
default) or mboxo (only ``>From `` -> ``From ``) -- except in a message with a
``Content-Length:`` header (mboxcl2, what mutt and Dovecot write): its body is
taken as it stands, and a ``From `` line within that length is content. Flags
come from the headers mutt and Dovecot write: ``Status: R`` \\Seen, ``X-Status:`` ``A`` \\Answered,
``F`` \\Flagged, ``D`` \\Deleted, ``T`` \\Draft, ``X-Keywords:`` keywords (and
Thunderbird's ``X-Mozilla-Status`` bits and ``X-Mozilla-Keys``); those
headers (and ``Content-Length``, Dovecot's ``X-UID``/``X-IMAP``/``X-IMAPbase``)
are removed, as every mbox reader does, so the stored message is the one that was
written.

**Writing** (:func:`write_message`): mboxrd quoting, LF line ends, the same headers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

#: longest piece of a line read at once (a longer line is read in pieces)
LINE_CHUNK = 64 * 1024
STATE_HEADERS = (b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap", b"x-imapbase",
                 b"content-length", b"x-mozilla-status", b"x-mozilla-status2",
                 b"x-mozilla-keys")  # fmt: skip
#: Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags): read, replied, marked, forwarded
_MOZILLA = {0x0001: "\\Seen", 0x0002: "\\Answered", 0x0004: "\\Flagged", 0x1000: "$Forwarded"}
_X_STATUS = {"A": "\\Answered", "F": "\\Flagged", "D": "\\Deleted", "T": "\\Draft"}
_FLAG_X_STATUS = {v: k for k, v in _X_STATUS.items()}

# From sender Mon Dec  7 04:22:05 2026 [remote from ...]; a zone (+0000, UTC) may
# stand before the year (RFC 4155 §2 leaves the date form to tradition)
_FROM_LINE = re.compile(
    rb"^From \S*\s+(?:\w{3}\s+)?(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"(?:\s+[A-Z]{3,5}|\s+[-+]\d{4})?\s+(\d{4})"
)
_MONTHS = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), start=1)}  # fmt: skip


def from_line_date(line: bytes) -> float | None:
    """The date of an mbox ``From `` separator line (local time), None if it is not one."""
    m = _FROM_LINE.match(line)
    if m is None:
        return None
    month = _MONTHS.get(m.group(1).lower())
    if month is None:
        return None
    day, hour, minute = int(m.group(2)), int(m.group(3)), int(m.group(4))
    second, year = int(m.group(5) or 0), int(m.group(6))
    try:
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


@dataclass
class MboxMessage:
    """One message of an mbox: the bytes as stored (LF ends), flags, date."""

    date: float
    data: bytes = b""
    flags: set[str] = field(default_factory=set)
    size: int = 0  #: bytes seen, also past the limit
    too_big: bool = False
    offset: int = 0  #: where its ``From `` line starts in the file


def _unquote(line: bytes, rd: bool) -> bytes:
    if line.startswith(b">"):
        stripped = line.lstrip(b">")
        if stripped.startswith(b"From ") and (rd or len(line) - len(stripped) == 1):
            return line[1:]
    return line


def _flags_from(name: bytes, value: bytes, flags: set[str]) -> None:
    text = value.decode("utf-8", "replace")
    if name == b"status" and "R" in text:
        flags.add("\\Seen")
    elif name == b"x-status":
        flags.update(_X_STATUS[c] for c in text if c in _X_STATUS)
    elif name in (b"x-keywords", b"x-mozilla-keys"):
        flags.update(k for k in re.split(r"[\s,]+", text) if k)
    elif name == b"x-mozilla-status":
        try:
            bits = int(text.strip(), 16)
        except ValueError:
            return
        flags.update(flag for bit, flag in _MOZILLA.items() if bits & bit)


class _Builder:
    """Collects one message's lines: state headers out, the size bound kept."""

    def __init__(self, date: float, offset: int, limit: int, rd: bool) -> None:
        self.msg = MboxMessage(date, offset=offset)
        self.parts: list[bytes] = []
        self.limit = limit
        self.rd = rd
        self.in_header = True
        self.skipping_field = False
        self.pending_blank = b""
        #: mboxcl2 (mutt, Dovecot): the body's length, within which nothing is quoted
        self.content_length: int | None = None
        self.body = 0

    def inside(self) -> bool:
        """True while a Content-Length says the body goes on (a From line is content)."""
        return self.content_length is not None and self.body < self.content_length

    def line(self, line: bytes, at_start: bool) -> None:
        if self.pending_blank:  # a blank line is the separator only if a From line follows
            self._keep(self.pending_blank)
            self.body += len(self.pending_blank)
            self.pending_blank = b""
        if at_start and line in (b"\n", b"\r\n"):
            if self.in_header:
                self.in_header = False
                self.skipping_field = False
            elif not self.inside():
                self.pending_blank = line
                return
            else:
                self.body += len(line)
        elif at_start and self.in_header:
            if line[:1] in (b" ", b"\t"):
                if self.skipping_field:
                    return
            else:
                name, colon, value = line.partition(b":")
                lname = name.strip().lower()
                self.skipping_field = bool(colon) and lname in STATE_HEADERS
                if self.skipping_field:
                    _flags_from(lname, value.strip(), self.msg.flags)
                    if lname == b"content-length" and value.strip().isdigit():
                        self.content_length = int(value.strip())
                    return
        else:
            if not self.in_header:
                self.body += len(line)
            if at_start and not self.in_header and self.content_length is None:
                line = _unquote(line, self.rd)
        self._keep(line)

    def _keep(self, piece: bytes) -> None:
        self.msg.size += len(piece)
        if self.msg.too_big:
            return
        if self.msg.size > self.limit:
            self.msg.too_big = True
            self.parts.clear()
            return
        self.parts.append(piece)

    def done(self) -> MboxMessage:
        self.msg.data = b"".join(self.parts)
        self.parts = []
        return self.msg


def read_mbox(fh: BinaryIO, *, limit: int, mboxrd: bool = True) -> Iterator[MboxMessage]:
    """The messages of an open mbox, one at a time (see the module docstring)."""
    builder: _Builder | None = None
    at_start = True
    prev_blank = True  # the first line of the file may open a message
    offset = 0
    while True:
        line = fh.readline(LINE_CHUNK)
        if not line:
            break
        start = offset
        offset += len(line)
        inside = builder is not None and builder.inside()
        if at_start and prev_blank and not inside and line.startswith(b"From "):
            date = from_line_date(line)
            if date is not None:
                if builder is not None:
                    yield builder.done()
                builder = _Builder(date, start, limit, mboxrd)
                at_start = line.endswith(b"\n")
                prev_blank = False
                continue
        if at_start:
            prev_blank = line in (b"\n", b"\r\n")
        if builder is not None:
            builder.line(line, at_start)
        at_start = line.endswith(b"\n")
    if builder is not None:
        yield builder.done()


def _status_headers(flags: Iterable[str]) -> bytes:
    flags = set(flags)
    out = b"Status: " + (b"RO" if "\\Seen" in flags else b"O") + b"\n"
    xs = "".join(sorted(_FLAG_X_STATUS[f] for f in flags if f in _FLAG_X_STATUS))
    if xs:
        out += f"X-Status: {xs}\n".encode()
    keywords = sorted(f for f in flags if not f.startswith("\\") and f.isascii())
    if keywords:
        out += ("X-Keywords: " + " ".join(keywords) + "\n").encode()
    return out


def _quote(body: bytes) -> bytes:
    # mboxrd (RFC 4155 §2 and the mboxrd convention): one more '>' before (>*)From
    return re.sub(rb"(?m)^(>*From )", rb">\1", body)


def write_message(out: BinaryIO, data: bytes, flags: Iterable[str], date: float,
                  sender: str = "MAILER-DAEMON") -> None:  # fmt: skip
    """Append one message in mboxrd form with mutt's flag headers."""
    data = data.replace(b"\r\n", b"\n")
    end = data.find(b"\n\n")
    head, body = (data[: end + 1], data[end + 1 :]) if end >= 0 else (data + b"\n", b"")
    if head == b"\n":  # no header at all
        head = b""
    out.write(f"From {sender} {time.asctime(time.localtime(date))}\n".encode())
    out.write(head)
    out.write(_status_headers(flags))
    if body:
        out.write(_quote(body))
        if not body.endswith(b"\n"):
            out.write(b"\n")
    else:
        out.write(b"\n")
    out.write(b"\n")  # the empty line before the next From line


__all__ = ["LINE_CHUNK", "MboxMessage", "from_line_date", "read_mbox", "write_message"]
