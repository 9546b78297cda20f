"""Conversation threads as rows, whoever threaded them.

A server with THREAD=REFERENCES threads a folder itself (:mod:`.imap_sort`);
otherwise the client runs the same algorithm on the envelopes it fetched:
RFC 5256 REFERENCES, which is JWZ's (https://www.jwz.org/doc/threading.html)
plus the RFC's subject merge, from :mod:`mailtool.protocol.imap.thread_algorithms`
(the very code our server runs, so both views agree). Either way the result
is a list of ``(uid, depth)`` in display order, newest thread first, so the
message list does not care who threaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mailtool.client.imap_parse import Envelope
from mailtool.protocol.imap.sort import ThreadNode, base_subject
from mailtool.protocol.imap.thread_algorithms import ThreadItem, references

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Rows = list[tuple[int, int]]


def _when(env: Envelope) -> float:
    if env.date is None:
        return _EPOCH.timestamp()
    return (env.date if env.date.tzinfo else env.date.replace(tzinfo=dt.UTC)).timestamp()


def _bare(msgid: str) -> str:
    return msgid.strip().strip("<>")


def _item(env: Envelope) -> ThreadItem:
    subject, reply = base_subject(env.subject or "")
    refs = env.references or ((env.in_reply_to,) if env.in_reply_to else ())
    return ThreadItem(
        env.uid, _when(env), subject, reply, _bare(env.message_id or ""),
        tuple(_bare(r) for r in refs if _bare(r)),
    )  # fmt: skip


def rows(trees: list[ThreadNode], newest: Callable[[ThreadNode], object]) -> Rows:
    """Trees -> rows, the thread ``newest`` ranks highest first; replies indented
    under their parent, a dummy's children at the dummy's depth."""
    out: Rows = []
    for tree in sorted(trees, key=newest, reverse=True):
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if node.number is not None:
                out.append((node.number, depth))
                depth += 1
            stack.extend((k, depth) for k in reversed(node.children))
    return out


def jwz(envelopes: list[Envelope]) -> Rows:
    """Thread ``envelopes`` here: the thread with the newest message first."""
    items = [_item(e) for e in sorted(envelopes, key=lambda e: e.uid)]
    sent = {i.uid: i.sent for i in items}
    return rows(references(items), lambda t: max(sent[u] for u in t.numbers()))


def _tree(value: object) -> ThreadNode:
    """A thread as nested lists (``[2, 3, [4], [5]]``) -> :class:`ThreadNode`."""
    if isinstance(value, ThreadNode):
        return value
    items = value if isinstance(value, list) else [value]
    numbers = [v for v in items if isinstance(v, int)]
    tail = tuple(_tree(v) for v in items if isinstance(v, list))
    if not numbers:
        return ThreadNode(None, tail)
    for n in reversed(numbers):
        tail = (ThreadNode(n, tail),)
    return tail[0]


def from_server(threads: list[ThreadNode] | list[object]) -> Rows:
    """The server's THREAD answer -> rows, the thread with the highest UID (the
    latest arrival: the server sends no dates) first."""
    return rows([_tree(t) for t in threads], lambda t: max(t.numbers(), default=0))


__all__ = ["Rows", "from_server", "jwz", "rows"]
