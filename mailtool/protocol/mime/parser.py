"""Split a raw message into its MIME part tree, with exact octet offsets.

IMAP needs the size and line count of every body part as it is on the wire
(RFC 9051 §7.5.2 body-fld-octets / body-fld-lines) and the exact bytes of any
section (§6.4.5), so we split the bytes ourselves instead of using the stdlib
``email`` parser, which re-folds and re-encodes.  The rules follow RFC 2046
§5.1.1 (the CRLF before a boundary belongs to the boundary) and, where the
RFCs leave broken input open, Dovecot's lib-mail/message-parser.c, which every
IMAP client has met: a boundary matches by prefix, the longest open boundary
wins, an outer boundary closes the inner multiparts, a boundary line ends a
header block, a multipart without children still has a structure.

The message is first brought to wire form (:func:`to_crlf`: bare LF -> CRLF),
so every offset, size and section is in the form IMAP sends (Dovecot counts
the same "virtual" sizes).  Parsing is linear: the body is scanned once for
``\\n--`` with ``bytes.find``; headers are scanned once per part.  The named
limits in :class:`MimeLimits` bound depth, part count and interpreted header
bytes; beyond them the remaining input is kept as opaque leaf content, as
Dovecot does, rather than rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailtool.errors import ProtocolError
from mailtool.protocol.mime.lexer import Lexer, parse_params

_BARE_LF = re.compile(rb"(?<!\r)\n")
#: RFC 2046 §5.1.1 allows 70 characters; Dovecot keeps 80, so do we
BOUNDARY_MAX = 80
_BOUNDARY_LINE_MAX = BOUNDARY_MAX + 4

LEAF, MULTIPART, RFC822 = "leaf", "multipart", "rfc822"


class MimeError(ProtocolError):
    """A MIME request cannot be served (bad section, unknown transfer encoding)."""


class UnknownCTE(MimeError):
    """BINARY of a part whose Content-Transfer-Encoding we cannot decode.

    RFC 3516 §4.3: the server answers ``NO [UNKNOWN-CTE]``.
    """


@dataclass(frozen=True)
class MimeLimits:
    """Bounds on the work spent on one message (Dovecot's defaults)."""

    #: parts nested deeper than this are leaves (message_max_nested_mime_parts)
    max_depth: int = 100
    #: parts after this many are not split further (message_max_total_mime_parts)
    max_parts: int = 10000
    #: header bytes per part that are interpreted as fields; the rest still counts
    max_header_bytes: int = 1 << 20


DEFAULT_LIMITS = MimeLimits()


@dataclass(eq=False, slots=True)
class Field:
    """One header field: name as written, unfolded value, raw span in the message."""

    name: bytes
    value: bytes  # leading LWSP skipped, folds joined with LF (CR dropped)
    start: int
    end: int  # after the field's line ending


@dataclass(eq=False, slots=True)
class Part:
    """One MIME entity: header [start, body_start), body [body_start, body_end)."""

    start: int
    body_start: int = 0
    body_end: int = 0
    fields: list[Field] = field(default_factory=list)
    kind: str = LEAF
    is_mime: bool = False
    # the type the splitter decided on (Content-Type, or the multipart/digest default)
    media: bytes = b""
    children: list[Part] = field(default_factory=list)
    boundary: bytes | None = None
    # the header block ended with an empty line (not at a boundary or the end)
    blank_line: bool = False
    # beyond MimeLimits: kept as a leaf although its type has children
    too_deep: bool = False

    def get(self, name: bytes) -> list[Field]:
        lname = name.lower()
        return [f for f in self.fields if f.name.lower() == lname]


def to_crlf(raw: bytes) -> bytes:
    """Bare LF -> CRLF: the form IMAP sends and counts (RFC 9051 §2.2)."""
    return _BARE_LF.sub(b"\r\n", raw)


@dataclass(eq=False, slots=True)
class _Boundary:
    value: bytes
    owner: Part


@dataclass(eq=False, slots=True)
class _Hit:
    """A boundary line found: [nl, line) is the CRLF that belongs to it."""

    boundary: _Boundary
    nl: int
    line: int
    closing: bool
    # found while reading a header block: Dovecot then counts the CRLF before
    # the boundary in the enclosing parts (not in the boundary owner)
    from_header: bool = False


class Message:
    """A parsed message: ``root`` is the top-level entity of ``raw`` (CRLF form)."""

    def __init__(self, raw: bytes, limits: MimeLimits = DEFAULT_LIMITS) -> None:
        self.raw = to_crlf(bytes(raw))
        self.limits = limits
        self._count = 0
        self._stack: list[_Boundary] = []
        self.root, hit = self._part(0, 0, None)
        assert hit is None

    # -- boundaries --------------------------------------------------------

    def _boundary_at(self, line: int) -> _Hit | None:
        """Is the line starting at ``line`` one of the open boundaries?"""
        data = self.raw
        if not self._stack or not data.startswith(b"--", line):
            return None
        start = line + 2
        lf = data.find(b"\n", start, start + 4096)
        if lf >= 0:
            size = lf - start
            if size > 0 and data[lf - 1] == 0x0D:
                size -= 1
            if size > 2 and data[start + size - 2 : start + size] == b"--":
                size -= 2
        else:
            size = min(len(data) - start, _BOUNDARY_LINE_MAX)
        best: _Boundary | None = None
        for b in reversed(self._stack):  # newest first; the longest match wins
            n = len(b.value)
            if (
                n <= size
                and (best is None or len(best.value) < n)
                and data.startswith(b.value, start)
            ):
                best = b
                if n == size:
                    break
        if best is None:
            return None
        end = start + len(best.value)
        return _Hit(best, line, line, data[end : end + 2] == b"--")

    def _scan(self, pos: int) -> _Hit | None:
        """Find the next boundary line at or after ``pos`` (a line start)."""
        if not self._stack:
            return None
        data = self.raw
        hit = self._boundary_at(pos)
        if hit is not None:
            return hit
        while True:
            nl = data.find(b"\n--", pos)
            if nl < 0:
                return None
            hit = self._boundary_at(nl + 1)
            if hit is not None:
                hit.nl = nl - 1 if nl > pos and data[nl - 1] == 0x0D else nl
                return hit
            pos = nl + 1

    def _close(self, hit: _Hit) -> None:
        """RFC 2046 §5.1.1: drop the boundaries opened after (and, if closing, with) the hit."""
        i = self._stack.index(hit.boundary)
        del self._stack[i if hit.closing else i + 1 :]

    def _after_line(self, pos: int) -> int:
        lf = self.raw.find(b"\n", pos)
        return len(self.raw) if lf < 0 else lf + 1

    # -- headers -----------------------------------------------------------

    def _headers(self, part: Part) -> _Hit | None:
        """Read the header block of ``part``; a boundary line ends it early."""
        data, end = self.raw, len(self.raw)
        pos = part.start
        budget = self.limits.max_header_bytes
        prev_nl = 0
        fields = part.fields
        while True:
            if pos >= end:
                part.body_start = end
                return None
            hit = self._boundary_at(pos) if self._stack else None
            if hit is not None:
                # RFC 2046 §5.1.1: the previous line's CRLF belongs to the boundary
                part.body_start = pos - prev_nl
                hit.nl = part.body_start
                hit.from_header = True
                return hit
            lf = data.find(b"\n", pos)
            line_end = end if lf < 0 else lf + 1
            content_end = lf - 1 if lf > pos and data[lf - 1] == 0x0D else (end if lf < 0 else lf)
            if content_end == pos and lf >= 0:  # the empty line: end of header
                part.body_start = line_end
                part.blank_line = True
                return None
            # continuation lines (RFC 5322 §2.2.3 folding) join the field with LF
            value_parts = [data[pos:content_end]]
            nxt = line_end
            prev_nl = line_end - content_end
            while nxt < end and data[nxt] in b" \t":
                lf = data.find(b"\n", nxt)
                ce = lf - 1 if lf > nxt and data[lf - 1] == 0x0D else (end if lf < 0 else lf)
                value_parts.append(data[nxt:ce])
                prev_nl = (end if lf < 0 else lf + 1) - ce
                nxt = end if lf < 0 else lf + 1
            if budget > 0:
                budget -= nxt - pos
                fields.append(_field(b"\n".join(value_parts), pos, nxt))
            pos = nxt

    # -- bodies ------------------------------------------------------------

    def _part(
        self, start: int, depth: int, parent: Part | None, in_multipart: bool = False
    ) -> tuple[Part, _Hit | None]:
        """Parse one entity from ``start``; return it and the boundary that ended it."""
        part = Part(start, is_mime=in_multipart)
        self._count += 1
        hit = self._headers(part)
        _classify(part, parent)
        limits = self.limits
        if part.kind != LEAF and (depth >= limits.max_depth or self._count >= limits.max_parts):
            part.too_deep = True
            part.kind = LEAF
        if hit is not None:  # header cut by a boundary: empty body (and empty message)
            part.body_end = part.body_start
            if part.kind == RFC822:
                part.children = [Part(hit.line, hit.line, hit.line)]
            return part, hit
        if part.kind == MULTIPART and part.boundary is not None:
            return part, self._multipart(part, depth)
        if part.kind == RFC822:
            child, hit = self._part(part.body_start, depth + 1, part)
            part.children = [child]
            part.body_end = _end_before(hit, len(self.raw))
            return part, hit
        hit = self._scan(part.body_start)
        part.body_end = hit.nl if hit is not None else len(self.raw)
        return part, hit

    def _multipart(self, part: Part, depth: int) -> _Hit | None:
        assert part.boundary is not None
        boundary = _Boundary(part.boundary, part)
        self._stack.append(boundary)
        hit = self._scan(part.body_start)
        while True:
            if hit is None:
                part.body_end = len(self.raw)
                return None
            if hit.boundary.owner is not part:
                part.body_end = _end_before(hit, len(self.raw))
                return hit
            self._close(hit)
            after = self._after_line(hit.line)
            if hit.closing:  # epilogue: up to an outer boundary or the end
                hit = self._scan(after) if self._stack else None
                continue
            if self._count >= self.limits.max_parts:
                self._stack.remove(boundary)
                hit = self._scan(after)
                continue
            child, hit = self._part(after, depth + 1, part, in_multipart=True)
            part.children.append(child)


def _end_before(hit: _Hit | None, end: int) -> int:
    """Where an enclosing (non-owner) part ends when ``hit`` closes it."""
    if hit is None:
        return end
    return hit.line if hit.from_header else hit.nl


def _field(raw_value: bytes, start: int, end: int) -> Field:
    colon = raw_value.find(b":")
    if colon < 0:  # no colon: the whole line is the name (Dovecot)
        return Field(raw_value, b"", start, end)
    name = raw_value[:colon].rstrip(b" \t")
    value = raw_value[colon + 1 :]
    stripped = value.lstrip(b" \t")
    # only whitespace: skip just one (Dovecot)
    value = stripped if stripped or not value else value[1:]
    return Field(name, value, start, end)


def _classify(part: Part, parent: Part | None) -> None:
    """Decide leaf / multipart / message from Content-Type (RFC 2045 §5, RFC 2046 §5)."""
    ctype = None
    for f in part.fields:
        lname = f.name.lower()
        if lname == b"mime-version":
            part.is_mime = True
        elif lname == b"content-type":
            part.is_mime = True
            if ctype is None:
                ctype = f
    media = b""
    if ctype is not None:
        lex = Lexer(ctype.value)
        lex.skip_lwsp()
        out = bytearray()
        ret = lex.content_type(out)
        media = bytes(out).lower()
        if media == b"message/rfc822":
            part.kind = RFC822
        elif media.startswith(b"multipart/"):
            part.kind = MULTIPART
            if ret >= 0:
                for key, value in parse_params(lex):
                    if key.lower() == b"boundary":
                        part.boundary = value[:BOUNDARY_MAX]
                        break
    if ctype is None and parent is not None and parent.media == b"multipart/digest":
        # RFC 2046 §5.1.5: the default type inside multipart/digest is message/rfc822
        part.kind, media = RFC822, b"message/rfc822"
    part.media = media
