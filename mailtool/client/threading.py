"""Conversation threads: JWZ's algorithm, and the server's THREAD answer, as rows.

Both produce the same shape, a list of ``(uid, depth)`` in display order, so
the message list does not care who threaded. JWZ
(https://www.jwz.org/doc/threading.html, also RFC 5256 §REFERENCES): link
each message to its parent through ``References`` (else ``In-Reply-To``),
make containers for missing parents, prune empty ones, and order threads by
their newest message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailtool.client.imap_parse import Envelope

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(eq=False)
class _Container:
    env: Envelope | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)

    def ancestor_of(self, other: _Container) -> bool:
        node: _Container | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


def _when(env: Envelope | None) -> dt.datetime:
    if env is None or env.date is None:
        return _EPOCH
    return env.date if env.date.tzinfo else env.date.replace(tzinfo=dt.UTC)


def _newest(c: _Container) -> dt.datetime:
    return max([_when(c.env), *(_newest(k) for k in c.children)])


def jwz(envelopes: list[Envelope]) -> list[tuple[int, int]]:
    """Thread ``envelopes`` client-side; newest thread first, replies in date order."""
    table: dict[str, _Container] = {}
    for env in envelopes:
        mid = env.message_id or f"<uid-{env.uid}@local>"
        box = table.get(mid)
        if box is None or box.env is not None:  # duplicate Message-IDs stay apart
            if box is not None:
                mid = f"<uid-{env.uid}@dup>"
            box = table[mid] = _Container()
        box.env = env
        refs = list(env.references) or ([env.in_reply_to] if env.in_reply_to else [])
        prev: _Container | None = None
        for ref in refs:
            node = table.setdefault(ref, _Container())
            if prev is not None and node.parent is None and not node.ancestor_of(prev):
                node.parent = prev
                prev.children.append(node)
            prev = node
        if prev is not None and prev is not box and not box.ancestor_of(prev):
            if box.parent is not None:
                box.parent.children.remove(box)
            box.parent = prev
            prev.children.append(box)
    roots = [c for c in table.values() if c.parent is None]
    rows: list[tuple[int, int]] = []

    def emit(c: _Container, depth: int) -> None:
        if c.env is not None:
            rows.append((c.env.uid, depth))
            depth += 1
        for child in sorted(c.children, key=lambda k: _when(k.env) if k.env else _newest(k)):
            emit(child, depth)

    for root in sorted(roots, key=_newest, reverse=True):
        emit(root, 0)
    return rows


def from_server(threads: list[object]) -> list[tuple[int, int]]:
    """RFC 5256 THREAD answer (nested lists of UIDs) -> rows, newest thread first."""
    rows_per_thread: list[list[tuple[int, int]]] = []

    def walk(node: list[object], depth: int, out: list[tuple[int, int]]) -> None:
        for item in node:
            if isinstance(item, int):
                out.append((item, depth))
                depth += 1
            elif isinstance(item, list):
                walk(item, depth, out)

    for thread in threads:
        out: list[tuple[int, int]] = []
        walk(thread if isinstance(thread, list) else [thread], 0, out)
        rows_per_thread.append(out)
    rows_per_thread.sort(key=lambda rows: max(u for u, _d in rows) if rows else 0, reverse=True)
    return [row for rows in rows_per_thread for row in rows]
