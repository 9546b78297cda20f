"""THREAD and UID THREAD (RFC 5256 §BASE.6.4.THREAD): ORDEREDSUBJECT and REFERENCES.

The algorithms live in :mod:`mailtool.protocol.imap.thread_algorithms` (the
client threads with the same code); they run here on the sort keys of
:mod:`.sort` (from the index: no message file is opened once a message's keys
are stored) and return trees of UIDs, which the command turns into sequence
numbers unless it is UID THREAD.
"""

from __future__ import annotations

from collections.abc import Callable

from mailtool.mra.imap.session import SELECTED, Done, Session, command, ok
from mailtool.mra.imap.sort import selected_keys
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import ThreadResult
from mailtool.protocol.imap.sort import ThreadNode
from mailtool.protocol.imap.thread_algorithms import ALGORITHMS


def _numbered(node: ThreadNode, number: Callable[[int], int]) -> ThreadNode:
    return ThreadNode(
        None if node.number is None else number(node.number),
        tuple(_numbered(k, number) for k in node.children),
    )


@command("THREAD", states=SELECTED, expunge_ok=False)
async def thread(s: Session, cmd: c.Thread) -> Done:
    box = s.selected
    assert box is not None
    items = await selected_keys(s, cmd.charset, cmd.keys)
    trees = ALGORITHMS[cmd.algorithm](items)
    if not cmd.uid:
        trees = [_numbered(t, box.msn) for t in trees]
    s.send(ThreadResult(tuple(trees)))
    return ok(f"{'UID ' if cmd.uid else ''}THREAD completed")


__all__ = ["thread"]
