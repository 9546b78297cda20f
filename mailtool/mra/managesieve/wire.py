"""ManageSieve (RFC 5804 §4) strings and responses, and a bounded command reader.

A command line is atoms, quoted strings (at most 1024 octets, ``\\"`` and
``\\\\`` escapes) and literals ``{N+}`` / ``{N}`` whose N octets follow the
CRLF. :func:`read_command` reads lines and literals with hard limits so a
client cannot make us buffer more than the largest script we accept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mailtool.net.connection import Connection, ReadTimeout

#: RFC 5804 §4: quoted strings are limited to 1024 octets
MAX_QUOTED = 1024
#: most arguments any command takes (RENAMESCRIPT: 2)
MAX_ARGS = 4


class BadCommand(Exception):
    """The line is not a command we can parse; the text is for the NO response."""


class BadLiteral(BadCommand):
    """A literal we refuse after the client started sending it: the stream is out of
    step, so the session answers BYE and closes."""


@dataclass(frozen=True)
class Command:
    name: str  # upper case
    args: list[str]


def quoted(text: str) -> bytes:
    """A string for the wire: quoted when short and safe, else a literal (RFC 5804 §4)."""
    data = text.encode("utf-8")
    if len(data) <= MAX_QUOTED and not any(c in text for c in '\r\n"\\\0'):
        return b'"' + data + b'"'
    return b"{%d}\r\n" % len(data) + data


def response(kind: str, text: str = "", code: str | None = None) -> bytes:
    """``OK`` / ``NO`` / ``BYE`` with an optional response code and human text."""
    out = kind.encode()
    if code:
        out += b" (" + code.encode() + b")"
    if text:
        out += b" " + quoted(text)
    return out + b"\r\n"


def _tokens(line: str) -> tuple[list[str], int | None]:
    """Tokens of one line; the literal length if the line ends with ``{N+}``/``{N}``."""
    out: list[str] = []
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == " ":
            i += 1
        elif ch == '"':
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise BadCommand("unterminated quoted string")
                ch = line[i]
                if ch == "\\" and i + 1 < n and line[i + 1] in '"\\':
                    buf.append(line[i + 1])
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    buf.append(ch)
                    i += 1
            value = "".join(buf)
            if len(value.encode()) > MAX_QUOTED:
                raise BadCommand(f"quoted string longer than {MAX_QUOTED} octets")
            out.append(value)
        elif ch == "{":
            end = line.find("}", i)
            spec = line[i + 1 : end] if end > 0 else ""
            digits = spec.rstrip("+")
            # RFC 5804 §4: number = 1*DIGIT, ASCII ("²".isdigit() is True, int() refuses it)
            if end != n - 1 or not (digits.isascii() and digits.isdigit()):
                raise BadCommand("malformed literal")
            return out, int(digits)
        else:
            end = line.find(" ", i)
            end = n if end < 0 else end
            out.append(line[i:end])
            i = end
    return out, None


async def read_command(
    conn: Connection, *, max_line: int, max_literal: int, timeout: float
) -> Command | None:
    """The next command, or None for an empty line. Raises BadCommand, LineTooLong,
    ReadTimeout or ConnectionClosed."""
    tokens = await read_tokens(conn, max_line=max_line, max_literal=max_literal, timeout=timeout)
    if not tokens:
        return None
    return Command(tokens[0].upper(), tokens[1:])


async def read_tokens(
    conn: Connection, *, max_line: int, max_literal: int, timeout: float
) -> list[str]:
    """One logical line's tokens, literals included (as read_command, without meaning).

    The whole of it, literals too, must arrive within ``timeout`` seconds: the idle
    timer runs from the last complete command, a trickle cannot stretch it."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_tokens(conn, max_line, max_literal)
    except TimeoutError:
        raise ReadTimeout from None


async def _read_tokens(conn: Connection, max_line: int, max_literal: int) -> list[str]:
    tokens: list[str] = []
    while True:
        raw = await conn.read_line(max_line)
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise BadCommand("command line is not UTF-8") from None
        part, literal = _tokens(line)
        tokens += part
        if len(tokens) > MAX_ARGS + 1:
            raise BadCommand("too many arguments")
        if literal is None:
            break
        if literal > max_literal:
            # refused on its announced size, before one octet of it is read; the client
            # already sends the octets ({N+}): we cannot skip them cheaply, so the
            # connection ends (the caller answers BYE)
            raise BadLiteral(f"literal of {literal} octets is over the limit of {max_literal}")
        data = await conn.read_exactly(literal)
        try:
            tokens.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadLiteral("script is not UTF-8") from None
    return tokens
