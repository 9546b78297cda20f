"""Sequence sets: ``1:3,5,7:*``, ``$`` (RFC 9051 §9 sequence-set, RFC 5182 SEARCHRES).

A :class:`SequenceSet` keeps its ranges as written (``4:2`` stays ``4:2``) so
format -> parse is the identity; membership and expansion normalise.  ``None``
stands for ``*``: "the largest number in use" (RFC 9051 §9 seq-number), which
the caller supplies as ``largest`` (message count or highest UID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mailtool.protocol.imap.tokenizer import MAX_NUMBER, Cursor

Bound = int | None  # None is "*"
_SET_CHARS = re.compile(rb"[0-9:,*]+")


@dataclass(frozen=True)
class SequenceSet:
    """A set of message sequence numbers or UIDs, or ``$`` (the saved search result)."""

    ranges: tuple[tuple[Bound, Bound], ...] = ()
    saved: bool = False

    # -- construction ---------------------------------------------------------
    @classmethod
    def saved_result(cls) -> SequenceSet:
        """``$``: RFC 5182 SEARCHRES reference to the last ``SEARCH RETURN (SAVE)``."""
        return cls((), saved=True)

    @classmethod
    def from_numbers(cls, numbers: Iterable[int]) -> SequenceSet:
        """The compact form of a set of numbers: ``[1,2,3,5]`` -> ``1:3,5``."""
        ranges: list[tuple[Bound, Bound]] = []
        for n in sorted(set(numbers)):
            if ranges and ranges[-1][1] == n - 1:
                ranges[-1] = (ranges[-1][0], n)
            else:
                ranges.append((n, n))
        return cls(tuple(ranges))

    @classmethod
    def parse(cls, text: str | bytes) -> SequenceSet:
        data = text.encode("ascii", "replace") if isinstance(text, str) else text
        cur = Cursor(data)
        result = read_sequence_set(cur)
        cur.end()
        return result

    # -- queries ----------------------------------------------------------------
    def _bounds(self, largest: int) -> Iterator[tuple[int, int]]:
        if self.saved:
            raise ValueError("resolve $ against the saved search result first")
        for a, b in self.ranges:
            lo = largest if a is None else a
            hi = largest if b is None else b
            yield (lo, hi) if lo <= hi else (hi, lo)

    def normalized(self, largest: int) -> list[tuple[int, int]]:
        """Sorted, merged, inclusive ``(low, high)`` ranges, ``*`` resolved to ``largest``."""
        out: list[tuple[int, int]] = []
        for lo, hi in sorted(self._bounds(largest)):
            if out and lo <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return out

    def contains(self, n: int, largest: int) -> bool:
        """Whether ``n`` is in the set, ``*`` meaning ``largest``."""
        return any(lo <= n <= hi for lo, hi in self._bounds(largest))

    def expand(self, largest: int) -> Iterator[int]:
        """Every number of the set within ``1..largest``, ascending, without repeats.

        For sequence numbers pass the message count; RFC 9051 §6.4.8 makes ``n:*``
        with ``n`` beyond the last UID still include the last UID, which this does.
        """
        for lo, hi in self.normalized(largest):
            yield from range(max(lo, 1), min(hi, largest) + 1)

    def filter(self, numbers: Iterable[int], largest: int | None = None) -> list[int]:
        """The members of ``numbers`` (e.g. a mailbox's UIDs) that the set selects."""
        nums = list(numbers)
        top = largest if largest is not None else (max(nums) if nums else 0)
        ranges = self.normalized(top)
        return [n for n in nums if any(lo <= n <= hi for lo, hi in ranges)]

    # -- wire -------------------------------------------------------------------
    def to_wire(self) -> bytes:
        if self.saved:
            return b"$"
        if not self.ranges:
            raise ValueError("an empty sequence set has no wire form")
        parts = []
        for a, b in self.ranges:
            first = b"*" if a is None else b"%d" % a
            parts.append(first if a == b else first + b":" + (b"*" if b is None else b"%d" % b))
        return b",".join(parts)

    def __str__(self) -> str:
        return self.to_wire().decode("ascii")


def _seq_number(cur: Cursor) -> Bound:
    if cur.try_take(b"*"):
        return None
    return cur.nz_number(MAX_NUMBER)


def read_sequence_set(cur: Cursor, *, allow_saved: bool = True) -> SequenceSet:
    """sequence-set = (seq-number / seq-range) ["," sequence-set]  /  "$"."""
    if allow_saved and cur.try_take(b"$"):
        return SequenceSet.saved_result()
    ranges: list[tuple[Bound, Bound]] = []
    while True:
        a = _seq_number(cur)
        b = _seq_number(cur) if cur.try_take(b":") else a
        ranges.append((a, b))
        cur.count()
        if not cur.try_take(b","):
            break
    return SequenceSet(tuple(ranges))


def read_uid_set(cur: Cursor) -> SequenceSet:
    """uid-set (RFC 4315 / RFC 9051 §9): like a sequence set without ``$``."""
    return read_sequence_set(cur, allow_saved=False)


__all__ = ["Bound", "SequenceSet", "read_sequence_set", "read_uid_set"]
