"""POP3, sans-I/O: commands, responses, multi-line byte-stuffing, CAPA, APOP.

RFC 1939 (the protocol), RFC 2449 (CAPA, response codes, the 255-octet
command line), RFC 2595 §4 (STLS), RFC 5034 (AUTH), RFC 3206 (SYS and AUTH
response codes). Multi-line responses use the dot-stuffing of SMTP DATA
(RFC 1939 §3), so they share :mod:`mailtool.protocol.smtp.dotstuff`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from mailtool.errors import ProtocolError

from .sasl import SaslAuthFailed, SaslCancelled, SaslError, SaslUnsupported
from .smtp.dotstuff import DotReader, DotStuffer
from .smtp.extensions import KeywordMap
from .smtp.lines import LineReader

#: RFC 2449 §4: a command line is at most 255 octets including CRLF
COMMAND_LINE_LIMIT = 255
#: RFC 2449 §4: a response line is at most 512 octets including CRLF
RESPONSE_LINE_LIMIT = 512
#: what a client tolerates from odd servers (still bounded)
RESPONSE_LINE_TOLERANCE = 4096
#: RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E
MAX_UID = 70
#: a message number or count has at most this many digits
MAX_NUMBER_DIGITS = 10
#: a client refuses a multi-line response bigger than this by default
DEFAULT_MAX_MULTILINE = 64 * 1024 * 1024

# RFC 2449 §8 and RFC 3206 response codes
IN_USE = "IN-USE"
LOGIN_DELAY = "LOGIN-DELAY"
SYS_TEMP = "SYS/TEMP"
SYS_PERM = "SYS/PERM"
AUTH = "AUTH"

# RFC 1939 §3: which commands each state accepts
AUTHORIZATION_COMMANDS = frozenset({"USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "QUIT"})
TRANSACTION_COMMANDS = frozenset(
    {"STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "QUIT", "TOP", "UIDL", "CAPA"}
)

_RESP_CODE = re.compile(r"\[([\x21-\x2e\x30-\x5c\x5e-\x7f]+(?:/[\x21-\x2e\x30-\x5c\x5e-\x7f]+)*)\]")
_UID = re.compile(r"[\x21-\x7e]{1,70}")
_KEYWORD = re.compile(r"[A-Za-z]{3,8}")
#: a control character (CR and LF were cut off before the search)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CAPA_NAME = re.compile(r"[\x21-\x7e]+")


# --- responses ---------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A status line: ``+OK text`` or ``-ERR [CODE] text``."""

    ok: bool
    text: str = ""
    code: str | None = None  # RFC 2449 §8: only on -ERR, and only when CAPA says RESP-CODES

    def __post_init__(self) -> None:
        if "\r" in self.text or "\n" in self.text:
            raise ValueError("response text may not contain CR or LF")
        if self.code is not None and not _RESP_CODE.fullmatch(f"[{self.code}]"):
            raise ValueError(f"bad response code {self.code!r}")

    def format(self) -> bytes:
        words = ["+OK" if self.ok else "-ERR"]
        if self.code:
            words.append(f"[{self.code}]")
        if self.text:
            words.append(self.text)
        return (" ".join(words) + "\r\n").encode("utf-8")


@dataclass(frozen=True)
class Continuation:
    """RFC 5034 §4: ``+ base64`` during AUTH (the challenge is still base64 here)."""

    challenge: bytes

    def format(self) -> bytes:
        return b"+ " + self.challenge + b"\r\n" if self.challenge else b"+ \r\n"


class POP3ProtocolError(ProtocolError):
    """A POP3 rule was broken; :attr:`reply` is the ``-ERR`` to send."""

    reply: Response

    def __init__(self, reply: Response, message: str | None = None) -> None:
        super().__init__(message or reply.text, reply)


class POP3LineTooLong(POP3ProtocolError):
    """A line over :data:`COMMAND_LINE_LIMIT` (or the response limit, client side)."""


class POP3CommandError(POP3ProtocolError):
    """An unknown command or bad arguments."""


class POP3ResponseError(POP3ProtocolError):
    """Client side: the server's bytes are not a POP3 response."""


def _err(text: str, code: str | None = None) -> Response:
    return Response(False, text, code)


def _bad_response(why: str) -> POP3ResponseError:
    return POP3ResponseError(_err(why), why)


def parse_response(line: bytes, *, in_auth: bool = False) -> Response | Continuation:
    """Client side: one status line (CRLF optional). ``in_auth``: a ``+ `` line is
    an AUTH :class:`Continuation` (RFC 5034 §4)."""
    if len(line) > RESPONSE_LINE_TOLERANCE:
        raise _bad_response("response line too long")
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    if b"\r" in line or b"\n" in line:
        raise _bad_response("bare CR or LF in a response line")
    text = line.decode("utf-8", errors="replace")
    if in_auth and (text == "+" or text.startswith("+ ")):
        return Continuation(line[2:].strip(b" "))
    status, _, rest = text.partition(" ")
    if status not in ("+OK", "-ERR"):
        raise _bad_response("response must start with +OK or -ERR")
    code = None
    m = _RESP_CODE.match(rest)
    if m and status == "-ERR":
        code = m.group(1)
        rest = rest[m.end() :].lstrip(" ")
    return Response(status == "+OK", rest, code)


def response_reader() -> LineReader:
    """Client side: a bounded line splitter for status lines."""
    return LineReader(RESPONSE_LINE_TOLERANCE, lambda: _bad_response("response line too long"))


def reply_for_sasl_error(exc: SaslError) -> Response:
    """RFC 5034 §4 / RFC 3206 §5: what the server sends when AUTH failed."""
    if isinstance(exc, SaslAuthFailed):
        return _err("authentication failed", AUTH)
    if isinstance(exc, SaslCancelled):
        return _err("authentication cancelled")
    if isinstance(exc, SaslUnsupported):
        return _err("unsupported mechanism")
    return _err(f"authentication failed: {str(exc)[:100]}")


# --- commands ----------------------------------------------------------------

# name -> (min args, max args, argument kinds); "n" message number (>= 1),
# "z" number (>= 0), "s" a word, "r" the rest of the line (PASS, RFC 1939 §7)
_ARITY: dict[str, tuple[int, int, str]] = {
    "USER": (1, 1, "s"),
    "PASS": (1, 1, "r"),
    "APOP": (2, 2, "ss"),
    "STAT": (0, 0, ""),
    "LIST": (0, 1, "n"),
    "RETR": (1, 1, "n"),
    "DELE": (1, 1, "n"),
    "NOOP": (0, 0, ""),
    "RSET": (0, 0, ""),
    "QUIT": (0, 0, ""),
    "TOP": (2, 2, "nz"),
    "UIDL": (0, 1, "n"),
    "CAPA": (0, 0, ""),
    "STLS": (0, 0, ""),
    "AUTH": (0, 2, "ss"),  # bare AUTH lists mechanisms (common, pre-RFC 5034)
}


@dataclass(frozen=True)
class Command:
    """A parsed command: ``name`` upper-case, numeric arguments as ``int``."""

    name: str
    args: tuple[str | int, ...] = ()

    def format(self) -> bytes:
        return (" ".join([self.name, *map(str, self.args)]) + "\r\n").encode("utf-8")

    @property
    def number(self) -> int | None:
        """The message number of LIST, RETR, DELE, TOP, UIDL (None when absent)."""
        return self.args[0] if self.args and isinstance(self.args[0], int) else None


def _number(word: str, minimum: int) -> int:
    if not (word.isascii() and word.isdigit()) or len(word) > MAX_NUMBER_DIGITS:
        raise POP3CommandError(_err("invalid message number"))
    value = int(word)
    if value < minimum:
        raise POP3CommandError(_err("invalid message number"))
    return value


#: the everyday TRANSACTION command, upper-case with one message number ("RETR 17"):
#: parsed by one match; anything else (and any number the match cannot vouch for) takes
#: the general parser below, whose result it must equal (hypothesis test)
_NUMBERED = re.compile(rb"(RETR|DELE|LIST|UIDL) ([0-9]{1,%d})\r?\n?" % MAX_NUMBER_DIGITS)


def parse_command(line: bytes) -> Command:
    """A command line (CRLF optional) -> :class:`Command`; raises
    :class:`POP3CommandError` / :class:`POP3LineTooLong` carrying the ``-ERR``."""
    numbered = _NUMBERED.fullmatch(line)
    if numbered is not None and (number := int(numbered[2])) >= 1:
        return Command(numbered[1].decode(), (number,))
    return _parse_command(line)


def _parse_command(line: bytes) -> Command:
    if len(line) > COMMAND_LINE_LIMIT:
        raise POP3LineTooLong(_err("line too long"))
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise POP3CommandError(_err("command is not UTF-8")) from None
    if _CONTROL.search(text):
        raise POP3CommandError(_err("control character in command"))
    keyword, _, rest = text.partition(" ")
    name = keyword.upper()
    if not _KEYWORD.fullmatch(keyword) or name not in _ARITY:
        raise POP3CommandError(_err("unknown command"))
    low, high, kinds = _ARITY[name]
    if kinds == "r":
        words = [rest] if rest else []
    else:
        words = rest.split(" ") if rest else []
        if any(not w for w in words):
            raise POP3CommandError(_err("arguments are separated by one space"))
    if not low <= len(words) <= high:
        raise POP3CommandError(_err(f"{name} takes {low} to {high} arguments"))
    args: list[str | int] = []
    for word, kind in zip(words, kinds, strict=False):
        args.append(_number(word, 1 if kind == "n" else 0) if kind in "nz" else word)
    if name == "APOP" and not re.fullmatch(r"[0-9a-fA-F]{32}", words[1]):
        raise POP3CommandError(_err("APOP digest must be 32 hex digits"))
    return Command(name, tuple(args))


def command_reader() -> LineReader:
    """Server side: a bounded line splitter for commands (RFC 2449 §4). During
    AUTH set ``reader.max_line = mailtool.protocol.sasl.MAX_SASL_LINE`` for the
    response lines, then back."""
    return LineReader(COMMAND_LINE_LIMIT, lambda: POP3LineTooLong(_err("line too long")))


# --- multi-line responses ----------------------------------------------------


class MultilineEncoder(DotStuffer):
    """Server side: byte-stuff a message chunk by chunk (RFC 1939 §3); LF-only
    Maildir content is turned into CRLF. ``feed(chunk)`` then ``end()``."""


def format_multiline(first: Response, lines: Iterable[str]) -> bytes:
    """A small multi-line response (CAPA, LIST, UIDL) in one piece."""
    enc = MultilineEncoder()
    body = enc.feed("".join(f"{line}\r\n" for line in lines).encode("utf-8"))
    return first.format() + body + enc.end()


class MultilineReader(DotReader):
    """Client side: the body of a multi-line response, un-stuffed, streaming.
    Lenient about bare line ends (a client cannot fix the server) but bounded:
    :meth:`finish` raises when the body went over ``max_size``."""

    def __init__(self, max_size: int = DEFAULT_MAX_MULTILINE) -> None:
        super().__init__(max_size, max_line=RESPONSE_LINE_TOLERANCE)

    def finish(self) -> int:
        if not self.done:
            raise RuntimeError("MultilineReader.finish() before the end")
        if self.too_big:
            raise _bad_response(f"multi-line response over {self.max_size} octets")
        return self.size


def split_lines(body: bytes) -> list[str]:
    """The lines of a decoded multi-line body (for CAPA, LIST, UIDL)."""
    return body.decode("utf-8", errors="replace").splitlines()


# --- STAT, LIST, UIDL listings -----------------------------------------------


def format_stat(count: int, size: int) -> Response:
    """RFC 1939 §5: ``+OK nn mm``."""
    return Response(True, f"{count} {size}")


def _two_numbers(text: str) -> tuple[int, int]:
    words = text.split(" ")
    if len(words) < 2 or not all(w.isascii() and w.isdigit() for w in words[:2]):
        raise _bad_response("expected two numbers")
    if any(len(w) > 20 for w in words[:2]):
        raise _bad_response("number too long")
    return int(words[0]), int(words[1])


def parse_stat(response: Response) -> tuple[int, int]:
    """(count, size) from a STAT ``+OK``."""
    return _two_numbers(response.text)


def format_scan_listing(number: int, size: int) -> str:
    """RFC 1939 §5 scan listing: ``msg size`` (the size with CRLF line ends)."""
    return f"{number} {size}"


parse_scan_listing = _two_numbers  # "msg size" -> (msg, size)


def format_uid_listing(number: int, uid: str) -> str:
    """RFC 1939 §7: ``msg unique-id``."""
    if not _UID.fullmatch(uid):
        raise ValueError("a unique-id is 1-70 characters 0x21-0x7E")
    return f"{number} {uid}"


def parse_uid_listing(line: str) -> tuple[int, str]:
    number, _, uid = line.partition(" ")
    if not (number.isascii() and number.isdigit()) or len(number) > 20 or not _UID.fullmatch(uid):
        raise _bad_response("bad unique-id listing")
    return int(number), uid


# --- CAPA ----------------------------------------------------------------------


class Capabilities(KeywordMap):
    """RFC 2449 §5: capability name -> arguments, e.g. ``{"SASL": ("PLAIN",)}``.
    Names are case-insensitive and kept upper-cased."""

    _key_syntax = _CAPA_NAME
    _param_syntax = _CAPA_NAME

    @property
    def sasl(self) -> tuple[str, ...]:
        return tuple(m.upper() for m in self._items.get("SASL", ()))

    def format(self) -> bytes:
        """The whole CAPA answer: ``+OK``, one line per capability, ``.``."""
        return format_multiline(Response(True, "Capability list follows"), self.lines())

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Capabilities:
        """From the lines of a CAPA body; unreadable lines are skipped."""
        items: dict[str, tuple[str, ...]] = {}
        for count, line in enumerate(lines):
            if count >= 256:
                break
            words = line.split()
            if cls.valid_line(words):
                items.setdefault(words[0].upper(), tuple(words[1:]))
        return cls(items)


# --- APOP (RFC 1939 §7) -------------------------------------------------------


def apop_timestamp(hostname: str) -> str:
    """A fresh ``<random.clock@host>`` for the greeting; never reuse one."""
    return f"<{secrets.token_hex(8)}.{secrets.randbelow(10**9)}@{hostname}>"


def find_apop_timestamp(greeting: str) -> str | None:
    """The ``<...@...>`` msg-id in a server greeting, if the server offers APOP."""
    m = re.search(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,200}@[\x21-\x3b\x3d\x3f-\x7e]{1,200}>", greeting)
    return m.group(0) if m else None


def apop_digest(timestamp: str, secret: str) -> str:
    """MD5(timestamp + secret) in lower-case hex (RFC 1939 §7; MD5 is the RFC's)."""
    return hashlib.md5((timestamp + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def apop_verify(timestamp: str, secret: str, digest: str) -> bool:
    return hmac.compare_digest(apop_digest(timestamp, secret), digest.lower())
