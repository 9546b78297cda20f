"""EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, UIDPLUS RFC 4315 §2.1).

The session removes the expunged messages from its own view and reports them
as ``* n EXPUNGE`` in descending order (each number valid when sent), or as
one ``* VANISHED`` under QRESYNC (RFC 7162 §3.2.10).
"""

from __future__ import annotations

from mailtool.mra.imap.session import SELECTED, Done, Session, command, no, ok
from mailtool.protocol.imap import commands as c


def expunge_uids(s: Session, uids: list[int]) -> None:
    """Expunge ``uids`` in the store and send the responses for them."""
    box = s.selected
    assert box is not None and s.mail is not None
    gone = s.mail.expunge(box.name, uids) if uids else []
    for resp in box.expunge_responses(gone, qresync=s.qresync):
        s.send(resp)


@command("EXPUNGE", states=SELECTED)
async def expunge(s: Session, cmd: c.Expunge) -> Done:
    box = s.selected
    assert box is not None
    if box.readonly:
        raise no("Mailbox is read-only", "READ-ONLY")
    deleted = [u for u in box.uids if "\\Deleted" in box.flags(u)]
    if cmd.uids is not None:
        top = box.uids[-1] if box.uids else 0
        deleted = cmd.uids.filter(deleted, top)
    expunge_uids(s, deleted)
    return ok(f"{'UID ' if cmd.uid else ''}EXPUNGE completed")


__all__ = ["expunge", "expunge_uids"]
