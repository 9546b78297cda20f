"""``index`` (RFC 5260 §6): ``:index <fieldno>`` and ``:last`` on header, address and date.

:func:`pick` keeps the fieldno'th occurrence of a header field (counted from
the top, or from the bottom with ``:last``); the tests apply it to each named
field before looking at its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.parser import Node
from mailtool.mda.sieve.spec import NUMBER

T = TypeVar("T")

INDEX_TAGS: dict[str, str | None] = {"index": NUMBER, "last": None}
INDEX_EXTENSIONS = {"index": "index", "last": "index"}


def pick(node: Node, values: Sequence[T]) -> list[T]:
    """RFC 5260 §6: only the fieldno'th field (1-based) when :index is given; none if absent."""
    index = node.tagged.get("index")
    if index is None:
        return list(values)
    i = len(values) - index if node.tagged.get("last") else index - 1
    return [values[i]] if 0 <= i < len(values) else []


def check_index(node: Node, extensions: set[str]) -> None:
    """RFC 5260 §6: :last needs :index, and fields are numbered from 1."""
    if node.tagged.get("last") and "index" not in node.tagged:
        raise SieveSyntaxError(":last needs :index", node.line, node.column)
    if node.tagged.get("index") == 0:
        raise SieveSyntaxError(":index counts from 1", node.line, node.column)
