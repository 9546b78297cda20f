"""SMTP replies: the :class:`Reply` value, its wire format, the client-side parser,
and the error classes that carry the reply a server should send.

RFC 5321 §4.2: a reply is a three-digit code, then ``-`` on every line but the
last and a space (or nothing) on the last, then text. RFC 2034 §4 puts the
enhanced status code (RFC 3463) at the start of the text of *every* line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.errors import ProtocolError

from . import codes
from .lines import LineReader

#: RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the code and CRLF
REPLY_LINE_LIMIT = 512
#: what the client parser accepts: real servers overstep the 512 of the RFC
#: (long EHLO lines, verbose 5xx texts), so a client is lenient but still bounded
REPLY_LINE_TOLERANCE = 4096
#: the most lines one multi-line reply may have before the client gives up
MAX_REPLY_LINES = 128

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")


@dataclass(frozen=True)
class Reply:
    """One SMTP reply. ``lines`` is the text of each line without code or enhanced
    code; ``enhanced`` (``"2.1.0"``) is written on each line when set."""

    code: int
    lines: tuple[str, ...] = ("",)
    enhanced: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code out of range: {self.code}")
        if not self.lines:
            object.__setattr__(self, "lines", ("",))
        if self.enhanced is not None and not _ENHANCED.fullmatch(self.enhanced):
            raise ValueError(f"bad enhanced status code: {self.enhanced!r}")
        for line in self.lines:
            if "\r" in line or "\n" in line:
                raise ValueError("reply text may not contain CR or LF")

    @classmethod
    def of(cls, code: int, text: str, enhanced: str | None = None) -> Reply:
        """A reply from text that may hold several lines separated by ``\\n``."""
        return cls(code, tuple(text.split("\n")), enhanced)

    @property
    def text(self) -> str:
        """All lines joined by ``\\n``."""
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return self.code < 400

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500

    def format(self) -> bytes:
        """The reply on the wire, every line ended by CRLF; UTF-8 text is only
        allowed to an SMTPUTF8 client (RFC 6531 §3.7.4) — the caller's call."""
        out = []
        last = len(self.lines) - 1
        for i, line in enumerate(self.lines):
            sep = " " if i == last else "-"
            text = f"{self.enhanced} {line}" if self.enhanced and line else self.enhanced or line
            if not text and sep == " ":
                sep = ""  # RFC 5321 §4.2: Reply-code [ SP textstring ] CRLF
            out.append(f"{self.code}{sep}{text}\r\n")
        return "".join(out).encode("utf-8")

    def __str__(self) -> str:
        return self.format().decode("utf-8").replace("\r\n", "\n").rstrip("\n")


class SMTPProtocolError(ProtocolError):
    """A protocol rule was broken; :attr:`reply` is what a server sends back."""

    reply: Reply

    def __init__(self, reply: Reply, message: str | None = None) -> None:
        super().__init__(message or reply.text, reply)


class LineTooLong(SMTPProtocolError):
    """A command line (RFC 5321 §4.5.3.1.4) or text line was too long."""


def line_too_long() -> LineTooLong:
    """RFC 5321 §4.2.2: 500 "may include errors such as command line too long"."""
    return LineTooLong(Reply(codes.C500_SYNTAX_ERROR, ("line too long",), codes.ES_SYNTAX))


class CommandSyntaxError(SMTPProtocolError):
    """A command, path or parameter is malformed or not allowed."""


class DataError(SMTPProtocolError):
    """Message content broke a rule: too big, bare CR/LF, over-long line."""


class ReplySyntaxError(SMTPProtocolError):
    """Client side: the server sent something that is not an SMTP reply."""


def _bad_reply(why: str) -> ReplySyntaxError:
    # The client never sends this reply; it is there so that every error of the
    # layer has one (the client treats the server as having said 421).
    return ReplySyntaxError(
        Reply(codes.C421_SERVICE_UNAVAILABLE, (why,), codes.ES_NET_BAD_CONNECTION), why
    )


def _split_line(line: bytes) -> tuple[int, bool, str]:
    """(code, is_last, text) of one reply line."""
    if len(line) < 3 or not line[:3].isdigit() or not b"2" <= line[:1] <= b"5":
        raise _bad_reply("reply line does not start with a reply code")
    code = int(line[:3])
    sep = line[3:4]
    if sep not in (b"", b" ", b"-"):
        raise _bad_reply("reply code not followed by space or hyphen")
    if b"\r" in line:
        raise _bad_reply("bare CR in a reply line")
    text = line[4:].decode("utf-8", errors="replace")
    return code, sep != b"-", text


class ReplyParser:
    """Client side: feed bytes, get whole (multi-line) replies.

    Bounded: lines beyond :data:`REPLY_LINE_TOLERANCE` octets and replies beyond
    :data:`MAX_REPLY_LINES` lines raise :class:`ReplySyntaxError`.
    """

    def __init__(
        self, max_line: int = REPLY_LINE_TOLERANCE, max_lines: int = MAX_REPLY_LINES
    ) -> None:
        self._lines = LineReader(max_line, lambda: _bad_reply("reply line too long"))
        self._max_lines = max_lines
        self._code: int | None = None
        self._texts: list[str] = []

    def feed(self, data: bytes) -> list[Reply]:
        """Every reply completed by ``data`` (a pipelining client gets several)."""
        self._lines.receive_data(data)
        replies = []
        while (line := self._lines.next_line()) is not None:
            code, last, text = _split_line(line)
            if self._code is not None and code != self._code:
                raise _bad_reply("reply code changed within a multi-line reply")
            self._code = code
            self._texts.append(text)
            if len(self._texts) > self._max_lines:
                raise _bad_reply("too many lines in one reply")
            if last:
                replies.append(_build(code, self._texts))
                self._code, self._texts = None, []
        return replies

    def take_rest(self) -> bytes:
        """Bytes after the last whole reply (e.g. a TLS handshake after STARTTLS's
        220 must not start with leftovers: RFC 3207 §4.2 — a non-empty rest there
        is an injection attempt)."""
        return self._lines.take_rest()


def _build(code: int, texts: list[str]) -> Reply:
    """A Reply, with the enhanced code lifted out when *every* line carries the
    same one whose class matches the reply code (RFC 2034 §4)."""
    found = [_ENHANCED.match(t) for t in texts]
    first = found[0]
    if first and first.group(1) == str(code)[0] and all(
        m and m.group(0).strip() == first.group(0).strip() for m in found
    ):
        enh = first.group(0).strip()
        return Reply(code, tuple(t[len(enh) + 1 :] for t in texts), enh)
    return Reply(code, tuple(texts))


def parse_reply(data: bytes) -> tuple[Reply | None, bytes]:
    """``parse(buf) -> (value, rest)``: the first whole reply in ``data`` and the
    bytes after it, or ``(None, data)`` when the reply is not complete yet."""
    parser = ReplyParser()
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            if len(data) - pos >= REPLY_LINE_TOLERANCE:
                raise _bad_reply("reply line too long")
            return None, data
        replies = parser.feed(data[pos : nl + 1])
        pos = nl + 1
        if replies:
            return replies[0], data[pos:]
