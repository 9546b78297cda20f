"""SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 MODSEQ, RFC 5032 WITHIN).

A search program is a tuple of :class:`SearchKey`, all of which must match.
``SearchKey.arg`` is typed by ``name``:

=====================================================  ===========================
name                                                   arg
=====================================================  ===========================
ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT      ``None``
SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN
BCC BODY CC FROM SUBJECT TEXT TO KEYWORD UNKEYWORD     ``str``
BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE            ``datetime.date``
LARGER SMALLER OLDER YOUNGER                           ``int``
HEADER                                                 ``(field, value)``
UID, SEQ (a bare sequence set)                         :class:`SequenceSet`
NOT                                                    ``SearchKey``
OR                                                     ``(SearchKey, SearchKey)``
AND (a parenthesized list)                             ``tuple[SearchKey, ...]``
MODSEQ                                                 :class:`ModSeqCriterion`
=====================================================  ===========================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.protocol.imap.dates import format_date, read_date
from mailtool.protocol.imap.sequence import read_sequence_set
from mailtool.protocol.imap.tokenizer import Cursor, decode
from mailtool.protocol.imap.values import Writer

NO_ARG = frozenset(
    [
        "ALL",
        "ANSWERED",
        "DELETED",
        "DRAFT",
        "FLAGGED",
        "NEW",
        "OLD",
        "RECENT",
        "SEEN",
        "UNANSWERED",
        "UNDELETED",
        "UNDRAFT",
        "UNFLAGGED",
        "UNSEEN",
    ]
)
STRING_ARG = frozenset(["BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"])
FLAG_ARG = frozenset(("KEYWORD", "UNKEYWORD"))
DATE_ARG = frozenset(["BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"])
NUMBER_ARG = frozenset(["LARGER", "SMALLER", "OLDER", "YOUNGER"])
_FLAG_KEYWORD = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\]\x80-\xff]+')


@dataclass(frozen=True)
class ModSeqCriterion:
    """RFC 7162 §3.1.5: ``MODSEQ ["/flags/\\Seen" all] 620162338``."""

    modseq: int
    entry: str | None = None  # e.g. "/flags/\\Draft"
    entry_type: str | None = None  # "priv" / "shared" / "all"


@dataclass(frozen=True)
class SearchKey:
    name: str
    arg: object = None


def uses_key(keys: tuple[SearchKey, ...], names: frozenset[str]) -> bool:
    """Whether any key of a search program, at any depth (NOT, OR, AND), is one of ``names``."""
    for key in keys:
        if key.name in names:
            return True
        if key.name == "NOT" and uses_key((key.arg,), names):  # type: ignore[arg-type]
            return True
        if key.name in ("OR", "AND") and uses_key(key.arg, names):  # type: ignore[arg-type]
            return True
    return False


def read_search_key(cur: Cursor) -> SearchKey:
    """One search-key; parenthesized lists and NOT/OR nest, bounded by max_depth."""
    cur.count()
    b = cur.peek()
    if b == 0x28:  # "("
        cur.enter()
        cur.expect(b"(")
        keys = [read_search_key(cur)]
        while not cur.try_take(b")"):
            cur.sp()
            keys.append(read_search_key(cur))
        cur.leave()
        return SearchKey("AND", tuple(keys))
    if b == 0x24 or b == 0x2A or 0x30 <= b <= 0x39:  # "$", "*", digit
        return SearchKey("SEQ", read_sequence_set(cur))
    name = cur.atom_upper()
    if name in NO_ARG:
        return SearchKey(name)
    cur.sp()
    if name in STRING_ARG:
        return SearchKey(name, cur.astring_str())
    if name in FLAG_ARG:
        return SearchKey(name, cur.match(_FLAG_KEYWORD, "flag keyword").decode("ascii"))
    if name in DATE_ARG:
        return SearchKey(name, read_date(cur))
    if name in NUMBER_ARG:
        return SearchKey(name, cur.number())
    if name == "HEADER":
        field = cur.astring_str()
        cur.sp()
        return SearchKey(name, (field, cur.astring_str()))
    if name == "UID":
        return SearchKey(name, read_sequence_set(cur))
    if name in ("NOT", "OR"):
        cur.enter()
        first = read_search_key(cur)
        if name == "NOT":
            cur.leave()
            return SearchKey(name, first)
        cur.sp()
        second = read_search_key(cur)
        cur.leave()
        return SearchKey(name, (first, second))
    if name == "MODSEQ":
        return SearchKey(name, _read_modseq(cur))
    cur.error(f"unknown search key {name}")


def _read_modseq(cur: Cursor) -> ModSeqCriterion:
    # RFC 7162 §3.1.5: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
    if cur.peek() == 0x22:
        entry = decode(cur.quoted())
        cur.sp()
        entry_type = cur.atom().decode("ascii").lower()
        if entry_type not in ("priv", "shared", "all"):
            cur.error("bad MODSEQ entry type")
        cur.sp()
        return ModSeqCriterion(cur.number(), entry, entry_type)
    return ModSeqCriterion(cur.number())


def read_search_program(cur: Cursor) -> tuple[str | None, tuple[SearchKey, ...]]:
    """``[CHARSET x SP] key *(SP key)`` -> (charset, keys)."""
    charset = None
    if cur.startswith_ci(b"CHARSET "):
        cur.pos += 8
        charset = cur.astring_str()
        cur.sp()
    keys = [read_search_key(cur)]
    while cur.try_take(b" "):
        keys.append(read_search_key(cur))
    return charset, tuple(keys)


def write_search_key(w: Writer, key: SearchKey) -> None:
    name, arg = key.name, key.arg
    if name == "AND":
        w.raw(b"(")
        write_search_keys(w, arg)  # type: ignore[arg-type]
        w.raw(b")")
        return
    if name == "SEQ":
        w.raw(arg.to_wire())  # type: ignore[union-attr]
        return
    w.text(name)
    if name in NO_ARG:
        return
    w.raw(b" ")
    if name in STRING_ARG:
        w.astring(arg)  # type: ignore[arg-type]
    elif name in FLAG_ARG:
        w.text(arg)  # type: ignore[arg-type]
    elif name in DATE_ARG:
        w.raw(format_date(arg))  # type: ignore[arg-type]
    elif name in NUMBER_ARG:
        w.raw(b"%d" % arg)  # type: ignore[str-format]
    elif name == "HEADER":
        w.astring(arg[0]).raw(b" ").astring(arg[1])  # type: ignore[index]
    elif name == "UID":
        w.raw(arg.to_wire())  # type: ignore[union-attr]
    elif name == "NOT":
        write_search_key(w, arg)  # type: ignore[arg-type]
    elif name == "OR":
        write_search_key(w, arg[0])  # type: ignore[index]
        w.raw(b" ")
        write_search_key(w, arg[1])  # type: ignore[index]
    elif name == "MODSEQ":
        crit: ModSeqCriterion = arg  # type: ignore[assignment]
        if crit.entry is not None:
            w.quoted(crit.entry.encode()).raw(b" ").text(crit.entry_type or "all").raw(b" ")
        w.raw(b"%d" % crit.modseq)
    else:
        raise ValueError(f"unknown search key {name}")


def write_search_keys(w: Writer, keys: tuple[SearchKey, ...]) -> None:
    for i, key in enumerate(keys):
        if i:
            w.raw(b" ")
        write_search_key(w, key)


__all__ = [
    "DATE_ARG",
    "FLAG_ARG",
    "NO_ARG",
    "NUMBER_ARG",
    "STRING_ARG",
    "ModSeqCriterion",
    "SearchKey",
    "read_search_key",
    "read_search_program",
    "uses_key",
    "write_search_key",
    "write_search_keys",
]
