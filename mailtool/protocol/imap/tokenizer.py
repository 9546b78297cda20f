"""The IMAP tokenizer: a cursor over one complete command or response.

The readers (:mod:`.command_reader`, :mod:`.response_reader`) assemble a whole
command or response, literals inline exactly as on the wire (``{5}\\r\\nhello``);
the parsers then walk it with a :class:`Cursor`.  Every token is matched by a
compiled regular expression anchored at the cursor position, so parsing is
linear in the input and never slices the buffer repeatedly (pymap composes
``parse(buf) -> (value, rest)``; we keep the position instead of the rest to
avoid quadratic copying).  Grammar references are to RFC 9051 §9.
"""

from __future__ import annotations

import re
from typing import NoReturn

from mailtool.protocol.imap.errors import LiteralTooLarge, ParseError, TooDeep, TooManyItems
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits

# RFC 9051 §9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
#                             quoted-specials / resp-specials
_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\]\x80-\xff]+')
# ASTRING-CHAR = ATOM-CHAR / resp-specials
_ASTRING_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\x80-\xff]+')
# tag = 1*<any ASTRING-CHAR except "+">
_TAG = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\+\x80-\xff]+')
# list-char = ATOM-CHAR / list-wildcards / resp-specials
_LIST_CHARS = re.compile(rb'[^(){ \x00-\x1f\x7f"\\\x80-\xff]+')
_NUMBER = re.compile(rb"[0-9]+")
# quoted = DQUOTE *QUOTED-CHAR DQUOTE; RFC 9051 allows UTF-8 inside (utf8-quoted)
_QUOTED = re.compile(rb'"((?:[^"\\\r\n]|\\["\\])*)"')
_UNESCAPE = re.compile(rb'\\(["\\])')
# literal = "{" number64 ["+"] "}" CRLF *CHAR8 ; literal8 = "~{" number64 "}" CRLF
_LITERAL = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}\r\n")
# a "text" run up to the end of the line (resp-text)
_TEXT = re.compile(rb"[^\r\n]*")

MAX_NUMBER64 = 2**63 - 1  # RFC 9051 §9 number64
MAX_NUMBER = 2**32 - 1  # RFC 9051 §9 number


def decode(data: bytes) -> str:
    """Bytes from the wire -> str; undecodable bytes survive as surrogates."""
    return data.decode("utf-8", "surrogateescape")


class Cursor:
    """A position in a complete command/response buffer, with the limits to enforce."""

    __slots__ = ("buf", "depth", "items", "limits", "literals", "pos")

    def __init__(self, buf: bytes, pos: int = 0, limits: Limits = DEFAULT_LIMITS) -> None:
        self.buf = bytes(buf)
        self.pos = pos
        self.limits = limits
        self.depth = 0
        self.literals = 0
        self.items = 0

    # -- basics -----------------------------------------------------------
    def error(self, what: str) -> NoReturn:
        near = self.buf[self.pos : self.pos + 20]
        raise ParseError(f"{what} at byte {self.pos} near {near!r}")

    def at_end(self) -> bool:
        return self.pos >= len(self.buf)

    def peek(self) -> int:
        """The next byte, or -1 at the end."""
        return self.buf[self.pos] if self.pos < len(self.buf) else -1

    def startswith(self, prefix: bytes) -> bool:
        return self.buf.startswith(prefix, self.pos)

    def startswith_ci(self, word: bytes) -> bool:
        end = self.pos + len(word)
        return self.buf[self.pos : end].upper() == word

    def try_take(self, token: bytes) -> bool:
        if self.buf.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def try_take_ci(self, word: bytes) -> bool:
        """Take ``word`` (upper case) case-insensitively when it is next."""
        if self.startswith_ci(word):
            self.pos += len(word)
            return True
        return False

    def expect(self, token: bytes) -> None:
        if not self.try_take(token):
            self.error(f"expected {token.decode()!r}")

    def expect_ci(self, word: bytes) -> None:
        if not self.try_take_ci(word):
            self.error(f"expected {word.decode()!r}")

    def sp(self) -> None:
        self.expect(b" ")

    def match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        m = pattern.match(self.buf, self.pos)
        if not m or m.end() == self.pos:
            self.error(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    def end(self) -> None:
        """The command/response must end here (an optional final CRLF is allowed)."""
        self.try_take(b"\r\n")
        if not self.at_end():
            self.error("unexpected data")

    def rest_of_line(self) -> bytes:
        m = _TEXT.match(self.buf, self.pos)
        assert m
        self.pos = m.end()
        return m.group(0)

    # -- limits -----------------------------------------------------------
    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise TooDeep("too deeply nested", limit="max_depth")

    def leave(self) -> None:
        self.depth -= 1

    def count(self, n: int = 1) -> None:
        self.items += n
        if self.items > self.limits.max_items:
            raise TooManyItems("too many items", limit="max_items")

    # -- tokens -----------------------------------------------------------
    def atom(self) -> bytes:
        return self.match(_ATOM, "atom")

    def atom_upper(self) -> str:
        return self.atom().decode("ascii").upper()

    def tag(self) -> str:
        return self.match(_TAG, "tag").decode("ascii")

    def astring_atom(self) -> bytes:
        return self.match(_ASTRING_ATOM, "astring")

    def list_chars(self) -> bytes:
        return self.match(_LIST_CHARS, "list-mailbox")

    def number(self, maximum: int = MAX_NUMBER64) -> int:
        digits = self.match(_NUMBER, "number")
        if len(digits) > 20 or int(digits) > maximum:
            self.error("number out of range")
        return int(digits)

    def nz_number(self, maximum: int = MAX_NUMBER) -> int:
        start = self.pos
        n = self.number(maximum)
        if n == 0:
            self.pos = start
            self.error("expected a non-zero number")
        return n

    def quoted(self) -> bytes:
        m = _QUOTED.match(self.buf, self.pos)
        if not m:
            self.error("bad quoted string")
        self.pos = m.end()
        return _UNESCAPE.sub(rb"\1", m.group(1))

    def is_literal_next(self) -> bool:
        b = self.peek()
        return b == 0x7B or (b == 0x7E and self.startswith(b"~{"))

    def literal(self, *, allow8: bool = False) -> bytes:
        """``{n}``/``{n+}`` CRLF octets, or ``~{n}`` (literal8, RFC 3516) when allowed."""
        m = _LITERAL.match(self.buf, self.pos)
        if not m:
            self.error("bad literal")
        if m.group(1) and not allow8:
            self.error("literal8 not allowed here")
        size = int(m.group(2))
        if size > self.limits.max_literal:
            raise LiteralTooLarge("literal too large", limit="max_literal")
        self.literals += 1
        if self.literals > self.limits.max_literals:
            raise TooManyItems("too many literals", limit="max_literals")
        start = m.end()
        if start + size > len(self.buf):
            self.error("truncated literal")
        self.pos = start + size
        return self.buf[start : self.pos]

    def string(self) -> bytes:
        """string = quoted / literal."""
        if self.peek() == 0x22:
            return self.quoted()
        if self.peek() == 0x7B:
            return self.literal()
        self.error("expected a string")

    def astring(self) -> bytes:
        """astring = 1*ASTRING-CHAR / string."""
        b = self.peek()
        if b in (0x22, 0x7B):
            return self.string()
        return self.astring_atom()

    def nstring(self) -> bytes | None:
        if self.try_take_ci(b"NIL"):
            return None
        return self.string()

    def astring_str(self) -> str:
        return decode(self.astring())

    def string_str(self) -> str:
        return decode(self.string())

    def paren_list(self, item: object, *, allow_empty: bool = True) -> list:
        """``"(" [item *(SP item)] ")"`` with ``item(cursor)`` parsing one element."""
        self.expect(b"(")
        self.enter()
        out: list = []
        if not self.try_take(b")"):
            while True:
                out.append(item(self))  # type: ignore[operator]
                self.count()
                if self.try_take(b")"):
                    break
                # RFC 9051 §9 writes adjacent lists without SP: 1*address, 1*body
                if not (self.peek() == 0x28 and self.buf[self.pos - 1] == 0x29):
                    self.sp()
        elif not allow_empty:
            self.error("empty list")
        self.leave()
        return out
