"""FETCH attributes (RFC 9051 §6.4.5, RFC 3501, RFC 3516 BINARY, RFC 7162 MODSEQ)
and FETCH response items (RFC 9051 §7.5.2).

A :class:`FetchAttr` is both what a client asks for (``BODY.PEEK[1.2]<0.100>``)
and, without ``peek`` and with only the origin of ``partial``, the key of the
matching response item (``BODY[1.2]<0>``): :meth:`FetchAttr.response_key`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from mailtool.protocol.imap.dates import format_datetime, read_datetime
from mailtool.protocol.imap.tokenizer import Cursor, decode
from mailtool.protocol.imap.values import Value, Writer, read_value

#: RFC 9051 §6.4.5 macros
MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
SIMPLE = frozenset(
    [
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
    ]
)
SECTION_TEXTS = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")
_NAME = re.compile(rb"[A-Za-z0-9.]+")
_PART = re.compile(rb"[1-9][0-9]{0,9}(?:\.[1-9][0-9]{0,9})*")
_FLAG = re.compile(rb'\\\*|\\?[^(){ \x00-\x1f\x7f%*"\\\]\x80-\xff]+')


@dataclass(frozen=True)
class Section:
    """``[1.2.HEADER.FIELDS (From To)]``: part numbers, then an optional text spec."""

    part: tuple[int, ...] = ()
    text: str | None = None  # HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    fields: tuple[str, ...] = ()  # for HEADER.FIELDS[.NOT]

    def to_wire(self) -> bytes:
        w = Writer()
        write_section(w, self)
        return w.getvalue()


@dataclass(frozen=True)
class FetchAttr:
    """One FETCH attribute, e.g. ``FetchAttr("BODY", Section(text="HEADER"), peek=True)``.

    ``section is None`` means no brackets (``BODY`` is the structure, ``BODY[]`` is
    ``Section()``).  ``partial`` is ``(origin, length)``; in responses the length
    is ``None`` (``<origin>``).
    """

    name: str
    section: Section | None = None
    partial: tuple[int, int | None] | None = None
    peek: bool = False

    def response_key(self) -> FetchAttr:
        """The key the server's FETCH response item carries for this request."""
        partial = (self.partial[0], None) if self.partial else None
        return FetchAttr(self.name, self.section, partial, peek=False)

    def to_wire(self) -> bytes:
        w = Writer()
        write_fetch_attr(w, self)
        return w.getvalue()

    def __str__(self) -> str:
        return decode(self.to_wire())


def _read_header_list(cur: Cursor) -> tuple[str, ...]:
    return tuple(cur.paren_list(Cursor.astring_str, allow_empty=False))


def read_section(cur: Cursor, *, binary: bool = False) -> Section:
    """section (or section-binary: part numbers only) after the name, ``[`` included."""
    cur.expect(b"[")
    part: tuple[int, ...] = ()
    text = None
    fields: tuple[str, ...] = ()
    m = _PART.match(cur.buf, cur.pos)
    if m:
        part = tuple(int(p) for p in m.group(0).split(b"."))
        cur.pos = m.end()
    if not binary and (not part or cur.try_take(b".")):
        for candidate in SECTION_TEXTS:
            if cur.try_take_ci(candidate.encode()):
                text = candidate
                break
        if text is None and (part or cur.peek() != 0x5D):
            cur.error("bad section")
        if text == "MIME" and not part:
            cur.error("MIME needs a part number")
        if text and text.startswith("HEADER.FIELDS"):
            cur.sp()
            fields = _read_header_list(cur)
    cur.expect(b"]")
    return Section(part, text, fields)


def write_section(w: Writer, s: Section) -> None:
    w.raw(b"[").raw(".".join(str(p) for p in s.part).encode())
    if s.text:
        w.raw(b"." if s.part else b"").text(s.text)
        if s.fields:
            w.raw(b" (")
            for i, f in enumerate(s.fields):
                w.raw(b" " if i else b"").astring(f)
            w.raw(b")")
    w.raw(b"]")


def _read_partial(cur: Cursor, *, response: bool) -> tuple[int, int | None] | None:
    if not cur.try_take(b"<"):
        return None
    origin = cur.number()
    length = None
    if not response:
        cur.expect(b".")
        length = cur.number()
        if length == 0:
            cur.error("partial length must be non-zero")
    cur.expect(b">")
    return (origin, length)


def read_fetch_attr(cur: Cursor, *, response: bool = False) -> FetchAttr:
    """One fetch-att (or, with ``response=True``, the key of a msg-att item)."""
    name = cur.match(_NAME, "fetch attribute").decode("ascii").upper()
    peek = False
    if name in ("BODY.PEEK", "BINARY.PEEK") and not response:
        name, peek = name[:-5], True
    if name in ("BODY", "BINARY", "BINARY.SIZE") and cur.peek() == 0x5B:
        section = read_section(cur, binary=name != "BODY")
        partial = None if name == "BINARY.SIZE" else _read_partial(cur, response=response)
        return FetchAttr(name, section, partial, peek)
    if peek or name in ("BINARY", "BINARY.SIZE"):
        cur.error(f"{name} needs a section")
    if name not in SIMPLE:
        cur.error(f"unknown fetch attribute {name}")
    return FetchAttr(name)


def write_fetch_attr(w: Writer, a: FetchAttr) -> None:
    w.text(a.name + (".PEEK" if a.peek else ""))
    if a.section is not None:
        write_section(w, a.section)
    if a.partial is not None:
        origin, length = a.partial
        w.raw(b"<%d>" % origin if length is None else b"<%d.%d>" % (origin, length))


def read_fetch_atts(cur: Cursor) -> tuple[tuple[FetchAttr, ...], str | None]:
    """``ALL`` / ``FAST`` / ``FULL`` / fetch-att / ``(fetch-att *(SP fetch-att))``
    -> (attributes, macro name or None)."""
    if cur.peek() == 0x28:
        return tuple(cur.paren_list(read_fetch_attr, allow_empty=False)), None
    for macro, names in MACROS.items():
        if cur.startswith_ci(macro.encode()) and cur.buf[cur.pos + len(macro) :][:1] in (
            b"",
            b" ",
            b"\r",
        ):
            cur.pos += len(macro)
            return tuple(FetchAttr(n) for n in names), macro
    return (read_fetch_attr(cur),), None


# -- FETCH response item values ------------------------------------------------------


def read_flag(cur: Cursor) -> str:
    return cur.match(_FLAG, "flag").decode("ascii")


def read_flag_list(cur: Cursor) -> tuple[str, ...]:
    """flag-list = "(" [flag *(SP flag)] ")"."""
    return tuple(cur.paren_list(read_flag))


def write_flag_list(w: Writer, flags: tuple[str, ...] | list[str]) -> None:
    for f in flags:
        if not _FLAG.fullmatch(f.encode("ascii", "replace")):
            raise ValueError(f"not a flag: {f!r}")
    w.raw(b"(").text(" ".join(flags)).raw(b")")


def read_fetch_item_value(cur: Cursor, key: FetchAttr) -> object:
    """The value of a msg-att item, typed by its key (see FetchResponse)."""
    name = key.name
    if key.section is not None:
        if name == "BINARY.SIZE":
            return cur.number()
        if cur.try_take_ci(b"NIL"):
            return None
        return cur.literal(allow8=True) if cur.is_literal_next() else cur.quoted()
    if name == "FLAGS":
        return read_flag_list(cur)
    if name in ("UID", "RFC822.SIZE"):
        return cur.number()
    if name == "MODSEQ":  # RFC 7162 §3.3.2: MODSEQ (n)
        cur.expect(b"(")
        n = cur.number()
        cur.expect(b")")
        return n
    if name == "INTERNALDATE":
        return read_datetime(cur)
    if name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
        return cur.nstring()
    return read_value(cur)  # ENVELOPE, BODY, BODYSTRUCTURE: nested generic values


def write_fetch_item_value(w: Writer, key: FetchAttr, value: object) -> None:
    name = key.name
    if key.section is not None and name != "BINARY.SIZE":
        if value is None:
            w.raw(b"NIL")
        else:
            data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            w.literal(data, binary=name == "BINARY" and bool(data))  # type: ignore[arg-type]
    elif name == "FLAGS":
        write_flag_list(w, value)  # type: ignore[arg-type]
    elif name == "MODSEQ":
        w.raw(b"(%d)" % value)  # type: ignore[str-format]
    elif name == "INTERNALDATE":
        assert isinstance(value, dt.datetime)
        w.raw(format_datetime(value))
    elif name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
        if value is None:
            w.raw(b"NIL")
        else:
            w.literal(value.encode() if isinstance(value, str) else value)  # type: ignore[union-attr]
    else:
        w.value(value)  # type: ignore[arg-type]


def read_fetch_items(cur: Cursor) -> tuple[tuple[FetchAttr, object], ...]:
    """msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP ...) ")"."""

    def item(c: Cursor) -> tuple[FetchAttr, object]:
        key = read_fetch_attr(c, response=True)
        c.sp()
        return key, read_fetch_item_value(c, key)

    return tuple(cur.paren_list(item, allow_empty=False))


__all__ = [
    "MACROS",
    "FetchAttr",
    "Section",
    "Value",
    "read_fetch_attr",
    "read_fetch_atts",
    "read_fetch_item_value",
    "read_fetch_items",
    "read_flag",
    "read_flag_list",
    "read_section",
    "write_fetch_attr",
    "write_fetch_item_value",
    "write_flag_list",
    "write_section",
]
