"""Sieve tokens (RFC 5228 §2 and §8.1), each with its line and column.

Strings come out with their escapes resolved: ``"a\\"b"`` is ``a"b`` and a
``text:`` multi-line string loses its dot-stuffing (RFC 5228 §2.4.2). Numbers
carry their K/M/G quantifier already applied (§2.4.1). Comments are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.mda.sieve.errors import SieveSyntaxError

IDENT, TAG, NUMBER, STRING, PUNCT, EOF = "identifier", "tag", "number", "string", "punct", "eof"

#: RFC 5228 §2.4.1: quantifiers
_QUANTIFIERS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
#: RFC 5228 §2.4.1: numbers are at least 31 bits; we refuse anything larger than 2^63-1
MAX_NUMBER = (1 << 63) - 1

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"([0-9]+)([KMGkmg]?)")
_WS = " \t\r\n"
_PUNCT = "[](),;{}"


@dataclass(frozen=True)
class Token:
    kind: str
    value: str | int
    line: int
    column: int
    is_multiline: bool = False


class Lexer:
    """Turns script text into :class:`Token` objects; :meth:`tokens` yields them all."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    @property
    def column(self) -> int:
        return self.pos - self.line_start + 1

    def error(self, message: str) -> SieveSyntaxError:
        return SieveSyntaxError(message, self.line, self.column)

    def _advance(self, count: int) -> str:
        """Consume ``count`` characters, keeping line and column right."""
        chunk = self.text[self.pos : self.pos + count]
        newlines = chunk.count("\n")
        if newlines:
            self.line += newlines
            self.line_start = self.pos + chunk.rindex("\n") + 1
        self.pos += count
        return chunk

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            token = self.next_token()
            out.append(token)
            if token.kind == EOF:
                return out

    def _skip_space_and_comments(self) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in _WS:
                self._advance(1)
            elif ch == "#":  # RFC 5228 §2.3: hash comment to end of line
                end = text.find("\n", self.pos)
                self._advance((len(text) if end < 0 else end) - self.pos)
            elif text.startswith("/*", self.pos):  # bracketed comment, not nested
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self._advance(end + 2 - self.pos)
            else:
                return

    def next_token(self) -> Token:
        self._skip_space_and_comments()
        line, column = self.line, self.column
        text = self.text
        if self.pos >= len(text):
            return Token(EOF, "", line, column)
        ch = text[self.pos]
        if ch in _PUNCT:
            self._advance(1)
            return Token(PUNCT, ch, line, column)
        if ch == '"':
            return Token(STRING, self._quoted(), line, column)
        if ch == ":":
            m = _IDENT_RE.match(text, self.pos + 1)
            if not m:
                raise self.error("':' must start a tag such as :is")
            self._advance(m.end() - self.pos)
            return Token(TAG, m.group().lower(), line, column)
        if "0" <= ch <= "9":  # RFC 5228 §8.1: ASCII digits only ('۵'.isdigit() is True)
            m = _NUMBER_RE.match(text, self.pos)
            assert m is not None
            value = int(m.group(1)) * _QUANTIFIERS[m.group(2).upper()]
            if value > MAX_NUMBER:
                raise self.error(f"number {m.group()} is too large")
            self._advance(m.end() - self.pos)
            return Token(NUMBER, value, line, column)
        m = _IDENT_RE.match(text, self.pos)
        if m:
            word = m.group()
            if word.lower() == "text" and text.startswith(":", m.end()):
                self._advance(m.end() + 1 - self.pos)
                return Token(STRING, self._multiline(), line, column, is_multiline=True)
            self._advance(m.end() - self.pos)
            return Token(IDENT, word.lower(), line, column)
        raise self.error(f"unexpected character {ch!r}")

    def _quoted(self) -> str:
        """RFC 5228 §2.4.2: ``\\\\`` and ``\\"`` are escapes; any other ``\\x`` is ``x``."""
        opening = SieveSyntaxError("unterminated string", self.line, self.column)
        self._advance(1)
        text = self.text
        parts: list[str] = []
        start = self.pos
        while True:
            if self.pos >= len(text):
                raise opening
            ch = text[self.pos]
            if ch == '"':
                parts.append(text[start : self.pos])
                self._advance(1)
                return "".join(parts)
            if ch == "\\":
                parts.append(text[start : self.pos])
                if self.pos + 1 >= len(text):
                    raise opening
                self._advance(1)
                start = self.pos
            self._advance(1)

    def _multiline(self) -> str:
        """RFC 5228 §2.4.2: ``text:`` [spaces] [#comment] CRLF lines ``.`` CRLF."""
        text = self.text
        while self.pos < len(text) and text[self.pos] in " \t":
            self._advance(1)
        if text.startswith("#", self.pos):
            end = text.find("\n", self.pos)
            self._advance((len(text) if end < 0 else end) - self.pos)
        if text.startswith("\r\n", self.pos):
            self._advance(2)
        elif text.startswith("\n", self.pos):
            self._advance(1)
        else:
            raise self.error("text: must be followed by the end of the line")
        lines: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.error("multi-line string not terminated by a line with a single '.'")
            end = text.find("\n", self.pos)
            end = len(text) if end < 0 else end + 1
            raw = text[self.pos : end]
            self._advance(end - self.pos)
            content = raw.rstrip("\n").rstrip("\r")
            if content == ".":
                return "".join(lines)
            if content.startswith(".."):  # dot-stuffing
                raw = raw[1:]
            lines.append(raw if raw.endswith("\n") else raw + "\n")


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with an EOF token."""
    return Lexer(text).tokens()
