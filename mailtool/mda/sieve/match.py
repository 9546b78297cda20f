"""Comparators (RFC 4790 via RFC 5228 §2.7.3) and match types (§2.7.1).

``:matches`` is a wildcard match (``*`` any run, ``?`` one character, ``\\``
escapes) done by a linear-backtracking glob matcher, not a regex, so a hostile
pattern cannot cost more than O(len(pattern) x len(value)). It returns the
wildcard captures that RFC 5229 §3.2 makes ``${1}``.. (each ``*`` as short as
possible, left to right).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from mailtool.mda.sieve import ext_regex

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())


def ascii_lower(text: str) -> str:
    """i;ascii-casemap folds only A-Z (RFC 4790 §9.2), never other letters."""
    return text.translate(_ASCII_LOWER)


def _fold(comparator: str) -> bool:
    return comparator == "i;ascii-casemap"


def _numeric(text: str) -> int | None:
    """i;ascii-numeric (RFC 4790 §9.1): the leading digits; none = positive infinity."""
    digits = ""
    for ch in text:
        if not ch.isascii() or not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


#: RFC 5231 §4: relational-match values (ABNF strings: case-insensitive)
RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
    "le": operator.le, "eq": operator.eq, "ne": operator.ne,
}  # fmt: skip


def _order_key(text: str, comparator: str) -> tuple[int, int] | str:
    """What the comparator orders by (RFC 4790 §9): numbers, folded text or code points."""
    if comparator == "i;ascii-numeric":
        number = _numeric(text)
        # RFC 4790 §9.1.1: a string without leading digits is positive infinity
        return (1, 0) if number is None else (0, number)
    # i;octet orders by octets; code point order is the same order for UTF-8
    return ascii_lower(text) if _fold(comparator) else text


def relational(value: str, key: str, relation: str, comparator: str) -> bool:
    """RFC 5231 §4: ``value <relation> key`` under ``comparator``."""
    test = RELATIONS[relation.lower()]
    return bool(test(_order_key(value, comparator), _order_key(key, comparator)))


def compare(
    value: str, key: str, match_type: str, comparator: str, relation: str = ""
) -> tuple[bool, list[str] | None]:
    """Does ``value`` match ``key``? Captures come back for a successful ``:matches``
    (the wildcards) or ``:regex`` (``${0}`` first, then the groups)."""
    if match_type == "value":  # RFC 5231 §4.2
        return relational(value, key, relation, comparator), None
    if match_type == "regex":  # draft-ietf-sieve-regex §3
        captures = ext_regex.search(key, value, _fold(comparator))
        return captures is not None, captures
    if comparator == "i;ascii-numeric":
        if match_type != "is":
            # RFC 4790 §9.1: ascii-numeric offers equality and ordering only
            return False, None
        return _numeric(value) == _numeric(key), None
    if match_type == "is":
        if _fold(comparator):
            return ascii_lower(value) == ascii_lower(key), None
        return value == key, None
    if match_type == "contains":
        if _fold(comparator):
            return ascii_lower(key) in ascii_lower(value), None
        return key in value, None
    captures = glob_match(key, value, _fold(comparator))
    return captures is not None, captures


def _tokens(pattern: str) -> list[tuple[str, str]]:
    """``("lit", c)``, ``("*", "")`` or ``("?", "")`` per pattern element."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(("lit", pattern[i + 1]))
            i += 2
            continue
        out.append((ch, "") if ch in "*?" else ("lit", ch))
        i += 1
    return out


def glob_match(pattern: str, value: str, fold: bool) -> list[str] | None:
    """Wildcard match; the list of captures (one per wildcard), or None when no match."""
    toks = _tokens(pattern)
    subject = ascii_lower(value) if fold else value
    pat = [(k, ascii_lower(c) if fold else c) for k, c in toks]
    spans: list[tuple[int, int]] = []  # one (start, end) per wildcard met so far
    p = s = 0
    star_p = -1  # pattern index of the last '*' met
    star_start = star_end = 0  # where that '*' starts and currently ends in the subject
    star_spans = 0  # len(spans) before that '*'
    while s < len(subject) or p < len(pat):
        if p < len(pat):
            kind, ch = pat[p]
            if kind == "*":
                star_p, star_start, star_end, star_spans = p, s, s, len(spans)
                spans.append((s, s))
                p += 1
                continue
            if s < len(subject) and (kind == "?" or subject[s] == ch):
                if kind == "?":
                    spans.append((s, s + 1))
                p += 1
                s += 1
                continue
        # a mismatch, or pattern used up with subject left: the last '*' takes one more
        if star_p < 0 or star_end >= len(subject):
            return None
        star_end += 1
        del spans[star_spans:]
        spans.append((star_start, star_end))
        p, s = star_p + 1, star_end
    return [value[a:b] for a, b in spans]
