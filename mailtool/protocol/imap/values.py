"""Generic IMAP values: NIL, numbers, strings, atoms and parenthesized lists.

ENVELOPE and BODYSTRUCTURE (built by :mod:`mailtool.protocol.mime`) and many
response items are just nested lists of these, so one formatter and one parser
serve them all:

* :func:`format_value` - Python value -> wire bytes;
* :func:`parse_value` - wire bytes -> ``(value, rest)``.

Mapping (RFC 9051 §4): ``None`` <-> ``NIL``, ``int`` <-> number, ``str`` /
``bytes`` -> quoted string or literal (parsed back as ``str``, decoded as UTF-8
with ``surrogateescape`` so no byte is lost), ``list``/``tuple`` -> parenthesized
list (parsed back as ``list``), :class:`Atom` -> a bare atom.

:class:`Writer` is the shared output buffer of every formatter: it knows how to
write a string as quoted or literal and records where a client must wait for a
continuation request after a synchronizing literal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Union

from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits
from mailtool.protocol.imap.tokenizer import Cursor, decode


class Atom(str):
    """A string formatted bare (no quotes): ``\\Seen``, ``INBOX``, ``BODY``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


Value = Union[None, int, str, bytes, Atom, "list[Value]", "tuple[Value, ...]"]

#: longest string we send quoted; longer ones go as literals
MAX_QUOTED = 1024
# what may appear bare in format_value(Atom(...)): ATOM-CHAR plus "\" (flags),
# "*" and "%" (\* and list patterns), "]" is excluded: it ends response codes
_BARE_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f"\x80-\xff\]]+')
_SAFE_QUOTED = re.compile(rb"[\x20-\x7e]*")
_SAFE_QUOTED_UTF8 = re.compile(rb"[^\x00\r\n]*")
# generic atom in parse_value: the same set as _BARE_ATOM
_GENERIC_ATOM = _BARE_ATOM


class Writer:
    """Accumulates wire bytes; splits the output after each synchronizing literal.

    ``nonsync=True`` writes LITERAL+ ``{n+}`` literals (RFC 7888), which need no
    continuation; ``utf8=True`` allows 8-bit UTF-8 in quoted strings
    (UTF8=ACCEPT, RFC 6855 §3).
    """

    def __init__(self, *, nonsync: bool = False, utf8: bool = False) -> None:
        self.nonsync = nonsync
        self.utf8 = utf8
        self._parts: list[bytes] = []
        self._chunks: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(data)
        return self

    def text(self, s: str) -> Writer:
        return self.raw(s.encode("utf-8", "surrogateescape"))

    def literal(self, data: bytes, *, binary: bool = False) -> Writer:
        """Write ``{n}\\r\\n`` + data (``~{n}`` for literal8, RFC 3516)."""
        plus = b"+" if self.nonsync else b""
        self.raw(b"%s{%d%s}\r\n" % (b"~" if binary else b"", len(data), plus))
        if not self.nonsync:
            self._chunks.append(b"".join(self._parts))
            self._parts = []
        return self.raw(data)

    def quoted(self, data: bytes) -> Writer:
        return self.raw(b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')

    def string(self, value: str | bytes) -> Writer:
        """Quoted when safe, else a literal (CR, LF, NUL, 8-bit, or long)."""
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        safe = _SAFE_QUOTED_UTF8 if self.utf8 else _SAFE_QUOTED
        if len(data) <= MAX_QUOTED and safe.fullmatch(data) and (not self.utf8 or _is_utf8(data)):
            return self.quoted(data)
        return self.literal(data)

    def nstring(self, value: str | bytes | None) -> Writer:
        return self.raw(b"NIL") if value is None else self.string(value)

    def astring(self, value: str | bytes) -> Writer:
        """An atom when the value is one (and not ``NIL``), else a string."""
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        if _ASTRING_BARE.fullmatch(data) and data.upper() != b"NIL":
            return self.raw(data)
        return self.string(data)

    def value(self, v: Value) -> Writer:
        if v is None:
            return self.raw(b"NIL")
        if isinstance(v, Atom):
            data = v.encode("ascii")
            if not _BARE_ATOM.fullmatch(data):
                raise ValueError(f"not an atom: {v!r}")
            return self.raw(data)
        if isinstance(v, bool):
            raise TypeError("IMAP has no booleans")
        if isinstance(v, int):
            if v < 0:
                raise ValueError("IMAP numbers are unsigned")
            return self.raw(b"%d" % v)
        if isinstance(v, str | bytes):
            return self.string(v)
        if isinstance(v, list | tuple):
            return self.list(v)
        # an object that knows its wire form (SequenceSet, FetchKey ...)
        to_wire = getattr(v, "to_wire", None)
        if to_wire is not None:
            return self.raw(to_wire())
        raise TypeError(f"cannot format {type(v).__name__} as an IMAP value")

    def list(self, items: Sequence[Value]) -> Writer:
        """``(a b c)``.  Lists in the leading run of list items get no space between
        them, as RFC 9051 §9 writes address lists (``1*address``), multipart bodies
        (``1*body SP subtype``) and namespaces; everywhere else items are SP-separated
        (the envelope's own fields, body extension data)."""
        self.raw(b"(")
        leading_lists = True
        for i, item in enumerate(items):
            leading_lists = leading_lists and _is_list(item)
            if i and not leading_lists:
                self.raw(b" ")
            self.value(item)
        return self.raw(b")")

    def getvalue(self) -> bytes:
        return b"".join(self._chunks) + b"".join(self._parts)

    def chunks(self) -> list[bytes]:
        """The output split after each synchronizing literal header: a client sends
        one chunk, then waits for a ``+`` continuation before the next."""
        return [*self._chunks, b"".join(self._parts)]


_ASTRING_BARE = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\x80-\xff]+')


def _is_list(v: object) -> bool:
    return isinstance(v, list | tuple)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def format_value(v: Value, *, nonsync: bool = False, utf8: bool = False) -> bytes:
    """Format one value; strings that are unsafe to quote become literals."""
    return Writer(nonsync=nonsync, utf8=utf8).value(v).getvalue()


def read_value(cur: Cursor) -> Value:
    """Parse one generic value at the cursor (the composable form of parse_value)."""
    b = cur.peek()
    if b == 0x28:  # "("
        return cur.paren_list(read_value)
    if b == 0x22:  # '"'
        return decode(cur.quoted())
    if b == 0x7B or (b == 0x7E and cur.startswith(b"~{")):
        return decode(cur.literal(allow8=True))
    start = cur.pos
    word = cur.match(_GENERIC_ATOM, "value")
    if word.isdigit():
        cur.pos = start
        return cur.number()
    if word.upper() == b"NIL":
        return None
    return Atom(word.decode("ascii"))


def parse_value(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Value, bytes]:
    """Parse one value from ``data``; return it and the bytes after it.

    Raises only :class:`~mailtool.protocol.imap.errors.ImapError` subclasses.
    """
    cur = Cursor(data, 0, limits)
    value = read_value(cur)
    return value, cur.buf[cur.pos :]


__all__ = ["MAX_QUOTED", "Atom", "Value", "Writer", "format_value", "parse_value", "read_value"]
