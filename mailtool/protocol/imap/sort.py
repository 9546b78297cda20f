"""SORT and THREAD (RFC 5256, with RFC 5957 DISPLAYFROM / DISPLAYTO): the parts
both sides share.

* sort criteria: ``(REVERSE DATE SUBJECT)`` <-> ``(SortCriterion, ...)``;
* thread trees: ``(2)(3 6 (4 23)(44 7 96))`` <-> ``(ThreadNode, ...)``;
* the base subject of RFC 5256 §2.1, which SORT SUBJECT and both threading
  algorithms compare, and whether the subject marked a reply or forward.

The commands (:class:`~.commands.Sort`, :class:`~.commands.Thread`) and the
responses (:class:`~.responses.SortResult`, :class:`~.responses.ThreadResult`)
use these; the parsers and formatters register them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.protocol.imap.tokenizer import Cursor
from mailtool.protocol.imap.values import Writer

#: RFC 5256 §3 sort-key, plus RFC 5957 §3
SORT_KEYS = frozenset(
    ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO")
)
#: RFC 5256 §3 thread-alg values we know
THREAD_ALGORITHMS = frozenset(("ORDEREDSUBJECT", "REFERENCES"))


@dataclass(frozen=True)
class SortCriterion:
    """One sort key; ``reverse`` when the client wrote ``REVERSE`` before it."""

    key: str
    reverse: bool = False


def read_sort_criteria(cur: Cursor) -> tuple[SortCriterion, ...]:
    """RFC 5256 §5: ``"(" sort-criterion *(SP sort-criterion) ")"``."""
    cur.expect(b"(")
    cur.enter()
    out: list[SortCriterion] = []
    while True:
        word = cur.atom_upper()
        reverse = word == "REVERSE"
        if reverse:
            cur.sp()
            word = cur.atom_upper()
        if word not in SORT_KEYS:
            cur.error(f"unknown sort key {word}")
        out.append(SortCriterion(word, reverse))
        cur.count()
        if cur.try_take(b")"):
            break
        cur.sp()
    cur.leave()
    return tuple(out)


def write_sort_criteria(w: Writer, criteria: tuple[SortCriterion, ...]) -> None:
    w.raw(b"(")
    w.text(" ".join(("REVERSE " if c.reverse else "") + c.key for c in criteria))
    w.raw(b")")


# -- thread trees ------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadNode:
    """A message (``number``) and its replies; ``number`` is None for the dummy
    root RFC 5256 §BASE.6.4.THREAD allows when a thread's top message is missing."""

    number: int | None
    children: tuple[ThreadNode, ...] = ()

    def numbers(self) -> list[int]:
        """Every message number in the tree, depth first (the display order)."""
        out: list[int] = []
        stack = [self]
        while stack:
            node = stack.pop()
            if node.number is not None:
                out.append(node.number)
            stack.extend(reversed(node.children))
        return out


def write_thread(w: Writer, node: ThreadNode) -> None:
    """RFC 5256 §5 thread-list: a chain of single children is written flat
    (``(1 2 3)``), two or more children as nested lists (``(1 (2)(3))``).
    Iterative: a thread thousands of replies deep costs no stack."""
    stack: list[ThreadNode | bytes] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            w.raw(item)
            continue
        w.raw(b"(")
        first = True
        while item.number is not None:
            w.raw(b"%s%d" % (b"" if first else b" ", item.number))
            first = False
            if len(item.children) != 1:
                break
            item = item.children[0]
        stack.append(b")")
        if item.children and (item.number is None or len(item.children) > 1):
            if not first:
                w.raw(b" ")
            stack.extend(reversed(item.children))


def read_thread(cur: Cursor) -> ThreadNode:
    """One thread-list (the inverse of :func:`write_thread`)."""
    cur.expect(b"(")
    cur.enter()
    numbers: list[int] = []
    nested: list[ThreadNode] = []
    while not cur.try_take(b")"):
        if (numbers or nested) and cur.peek() != 0x28:  # "(" follows ")" without a space
            cur.sp()
        if cur.peek() == 0x28:
            nested.append(read_thread(cur))
        elif nested:
            cur.error("a message number after nested threads")
        else:
            numbers.append(cur.nz_number())
        cur.count()
    cur.leave()
    if not numbers and not nested:
        cur.error("empty thread")
    tail: tuple[ThreadNode, ...] = tuple(nested)
    if not numbers:
        return ThreadNode(None, tail)
    for n in reversed(numbers):
        tail = (ThreadNode(n, tail),)
    return tail[0]


# -- base subject (RFC 5256 §2.1) ---------------------------------------------------

_WSP = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:\(fwd\)|[ \t])+$", re.I)
_BLOB = r"\[[^\[\]]*\][ \t]*"
#: subj-leader = (*subj-blob subj-refwd) / WSP
#: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
_LEADER = re.compile(rf"^(?:(?:{_BLOB})*(?:re|fwd?)[ \t]*(?:{_BLOB})?:|[ \t])", re.I)
_LEADING_BLOB = re.compile(rf"^{_BLOB}")
#: a subject no step of :func:`base_subject` changes: words with single spaces between
#: them, no ":" (no leader), no "[" (no blob), no ")" at the end (no "(fwd)" trailer)
_PLAIN = re.compile(r"(?:[^ \t\r\n:\[]++(?: (?=[^ \t\r\n]))?)*+(?<!\))")


def base_subject(subject: str) -> tuple[str, bool]:
    """(base subject, whether it was a reply or forward) of an already RFC
    2047-decoded subject (RFC 5256 §2.1 steps 1-6; the caller decodes, step 1's
    first half). Comparisons then use i;ascii-casemap (:func:`ascii_casemap`)."""
    if _PLAIN.fullmatch(subject):
        return subject, False  # no step applies (most subjects that are not replies)
    text = _WSP.sub(" ", subject)  # (1) tabs, continuations, runs of spaces
    reply = False
    while True:
        stripped = _TRAILER.sub("", text)  # (2) "(fwd)" and spaces at the end
        reply |= stripped.rstrip() != text.rstrip()
        text = stripped
        while True:  # (5) repeat (3) and (4) until neither applies
            m = _LEADER.match(text)  # (3)
            if m:
                reply |= not m.group(0).isspace()
                text = text[m.end() :]
                continue
            m = _LEADING_BLOB.match(text)  # (4) only if something is left
            if m and text[m.end() :]:
                text = text[m.end() :]
                continue
            break
        # (6) "[fwd:" ... "]" wraps a forwarded subject
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            reply = True
            continue
        return text, reply


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def ascii_casemap(text: str) -> str:
    """The i;ascii-casemap collation key (RFC 4790 §9.2): ASCII letters upper-cased,
    everything else compared as is (Python compares code points, which is UTF-8
    octet order)."""
    return text.translate(_ASCII_UPPER)


__all__ = [
    "SORT_KEYS",
    "THREAD_ALGORITHMS",
    "SortCriterion",
    "ThreadNode",
    "ascii_casemap",
    "base_subject",
    "read_sort_criteria",
    "read_thread",
    "write_sort_criteria",
    "write_thread",
]
