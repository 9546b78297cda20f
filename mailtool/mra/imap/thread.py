"""THREAD and UID THREAD (RFC 5256 §BASE.6.4.THREAD): ORDEREDSUBJECT and REFERENCES.

The algorithms live in :mod:`mailtool.protocol.imap.thread_algorithms` (the
client threads with the same code); they run here on the sort keys of
:mod:`.sort` (from the index: no message file is opened once a message's keys
are stored) and return trees of UIDs, which the command turns into sequence
numbers unless it is UID THREAD.
"""

from __future__ import annotations

from mailtool.mra.imap.session import SELECTED, Done, Session, command, ok
from mailtool.mra.imap.sort import selected_keys
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import ThreadResult
from mailtool.protocol.imap.thread_algorithms import ALGORITHMS


@command("THREAD", states=SELECTED, expunge_ok=False)
async def thread(s: Session, cmd: c.Thread) -> Done:
    box = s.selected
    assert box is not None
    items = await selected_keys(s, cmd.charset, cmd.keys)
    if not cmd.uid:  # thread sequence numbers: they order like UIDs
        items = [k._replace(uid=box.msn(k.uid)) for k in items]
    s.send(ThreadResult(tuple(ALGORITHMS[cmd.algorithm](items))))
    return ok(f"{'UID ' if cmd.uid else ''}THREAD completed")


__all__ = ["thread"]
