"""RFC 5256 threading algorithms, ORDEREDSUBJECT and REFERENCES, on plain values.

Sans-I/O and shared: the server's THREAD command (:mod:`mailtool.mra.imap.thread`)
and the client's own threading when a server offers no THREAD
(:mod:`mailtool.client.threading`) run the same code, so a folder threads
the same way whoever does it. Messages come in mailbox order (which breaks
ties); the result is a list of :class:`~.sort.ThreadNode` trees of UIDs,
oldest thread first (RFC 5256 §BASE.6.4.THREAD).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from mailtool.protocol.imap.sort import ThreadNode, ascii_casemap


class Threadable(Protocol):
    """What threading needs of a message."""

    @property
    def uid(self) -> int: ...
    @property
    def sent(self) -> float:
        """The sent date (RFC 5256 §2.2), seconds since the epoch."""
        ...

    @property
    def subject(self) -> str:
        """The base subject (RFC 5256 §2.1, :func:`~.sort.base_subject`)."""
        ...

    @property
    def reply(self) -> bool:
        """Whether the subject said it is a reply or forward."""
        ...

    @property
    def message_id(self) -> str: ...
    @property
    def refs(self) -> tuple[str, ...]:
        """References, else the In-Reply-To message-id (oldest first)."""
        ...


class ThreadItem(NamedTuple):
    """A ready-made :class:`Threadable`."""

    uid: int
    sent: float
    subject: str
    reply: bool
    message_id: str
    refs: tuple[str, ...]


def ordered_subject(items: list[Threadable]) -> list[ThreadNode]:
    """RFC 5256 ORDEREDSUBJECT: messages grouped by base subject, each group in sent
    date order under its first message; groups ordered by their first message's date."""
    order = {k.uid: i for i, k in enumerate(items)}
    ranked = sorted(items, key=lambda k: (ascii_casemap(k.subject), k.sent, order[k.uid]))
    groups: list[list[Threadable]] = []
    for k in ranked:
        if groups and ascii_casemap(groups[-1][0].subject) == ascii_casemap(k.subject):
            groups[-1].append(k)
        else:
            groups.append([k])
    groups.sort(key=lambda g: (g[0].sent, order[g[0].uid]))
    return [ThreadNode(g[0].uid, tuple(ThreadNode(k.uid) for k in g[1:])) for g in groups]


@dataclass(eq=False)
class _Box:
    """A container of the REFERENCES algorithm: a message, or a dummy (``msg`` None)."""

    msg: Threadable | None = None
    parent: _Box | None = None
    children: list[_Box] = field(default_factory=list)

    def reaches(self, other: _Box) -> bool:
        """Whether this box is ``other`` or one of its ancestors: then linking
        ``self`` under ``other`` would make a loop."""
        node: _Box | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False

    def adopt(self, child: _Box) -> None:
        if child.parent is not None:
            child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)


def references(items: list[Threadable]) -> list[ThreadNode]:
    """RFC 5256 REFERENCES (JWZ's algorithm with the RFC's subject merge)."""
    order = {k.uid: i for i, k in enumerate(items)}
    table: dict[str, _Box] = {}
    # (1) link messages through their Message-IDs and references
    boxes: list[_Box] = []
    for k in items:
        box = table.get(k.message_id) if k.message_id else None
        if box is None or box.msg is not None:  # (1.A) none, or a duplicate ID
            box = _Box()
            boxes.append(box)
            if k.message_id and k.message_id not in table:
                table[k.message_id] = box
        box.msg = k
        prev: _Box | None = None
        for ref in k.refs:  # (1.B) each reference the parent of the next
            node = table.get(ref)
            if node is None:
                node = table[ref] = _Box()
                boxes.append(node)
            if (prev is not None and node.parent is None and node is not prev
                    and not node.reaches(prev)):  # fmt: skip
                prev.adopt(node)
            prev = node
        if box.parent is not None:  # (1.C) the last reference is the parent
            box.parent.children.remove(box)
            box.parent = None
        if prev is not None and prev is not box and not box.reaches(prev):
            prev.adopt(box)
    # (2) the root set (boxes of messages without or with a duplicate Message-ID are
    # not in the table: collect them too), (3) the table is done with, (4) prune
    roots = _prune([b for b in boxes if b.parent is None])
    for b in roots:
        b.parent = None
    sent = _sent_key(order)
    for b in roots:  # (5) a dummy's children by date, its first child dates it
        if b.msg is None:
            b.children.sort(key=sent)
    roots.sort(key=sent)
    roots = _merge_subjects(roots)  # (6)
    for b in _descendants(roots):  # (7) every set of siblings by sent date
        b.children.sort(key=sent)
    roots.sort(key=sent)
    return _nodes(roots)


def _descendants(roots: list[_Box]) -> list[_Box]:
    """Every box under (and including) ``roots``, parents before children; no
    recursion, so a reply chain thousands deep costs no stack."""
    out: list[_Box] = []
    stack = list(reversed(roots))
    while stack:
        b = stack.pop()
        out.append(b)
        stack.extend(reversed(b.children))
    return out


def _prune(roots: list[_Box]) -> list[_Box]:
    """(4) Dummies without children go; a dummy's children take its place, except a
    root-level dummy with more than one child (they would all become roots)."""
    for b in reversed(_descendants(roots)):  # children are done before their parent
        b.children = _pruned(b.children, root=False)
        for k in b.children:
            k.parent = b
    return _pruned(roots, root=True)


def _pruned(boxes: list[_Box], *, root: bool) -> list[_Box]:
    out: list[_Box] = []
    for b in boxes:
        if b.msg is not None:
            out.append(b)
        elif not b.children:
            continue
        elif root and len(b.children) > 1:
            out.append(b)
        else:
            out.extend(b.children)
    return out


def _sent_key(order: dict[int, int]) -> Callable[[_Box], tuple[float, int]]:
    """Sort key of a box: its message's sent date (mailbox order breaks ties); a
    dummy's is its earliest child's."""

    def key(b: _Box) -> tuple[float, int]:
        if b.msg is not None:
            return b.msg.sent, order[b.msg.uid]
        return min((key(k) for k in b.children), default=(0.0, -1))

    return key


def _nodes(roots: list[_Box]) -> list[ThreadNode]:
    """The boxes as :class:`ThreadNode` trees, built leaves first (no recursion)."""
    made: dict[int, ThreadNode] = {}
    for b in reversed(_descendants(roots)):
        made[id(b)] = ThreadNode(
            b.msg.uid if b.msg is not None else None, tuple(made[id(k)] for k in b.children)
        )
    return [made[id(b)] for b in roots]


def _subject_of(b: _Box) -> str:
    """The thread subject: the base subject of the message, or of a dummy's first child."""
    msg = b.msg if b.msg is not None else (b.children[0].msg if b.children else None)
    return ascii_casemap(msg.subject) if msg is not None else ""


def _merge_subjects(roots: list[_Box]) -> list[_Box]:
    """(6) Roots with the same base subject become one thread."""
    table: dict[str, _Box] = {}
    for b in roots:  # (6.B) one container per subject: a dummy, else a non-reply
        subject = _subject_of(b)
        if not subject:
            continue
        old = table.get(subject)
        if old is None or (old.msg is not None and (
                b.msg is None or (old.msg.reply and not b.msg.reply))):  # fmt: skip
            table[subject] = b
    out: list[_Box | None] = list(roots)
    where = {id(b): i for i, b in enumerate(roots)}
    for i, b in enumerate(roots):  # (6.C) merge the others into it
        subject = _subject_of(b)
        old = table.get(subject) if subject else None
        if old is None or old is b:
            continue
        out[i] = None
        if old.msg is None and b.msg is None:  # both dummies: children become siblings
            for k in list(b.children):
                old.adopt(k)
        elif old.msg is None or (b.msg is not None and b.msg.reply and not old.msg.reply):
            old.adopt(b)
        else:  # a new dummy over both takes the old one's place
            dummy = _Box()
            at = where[id(old)]
            out[at] = dummy
            where[id(dummy)] = at
            dummy.adopt(old)
            dummy.adopt(b)
            table[subject] = dummy
    return [b for b in out if b is not None]


ALGORITHMS: dict[str, Callable[[list[Threadable]], list[ThreadNode]]] = {
    "ORDEREDSUBJECT": ordered_subject,
    "REFERENCES": references,
}

__all__ = ["ALGORITHMS", "ThreadItem", "Threadable", "ordered_subject", "references"]
