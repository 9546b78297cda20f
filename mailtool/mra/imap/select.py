"""SELECT / EXAMINE (with CONDSTORE and QRESYNC parameters, RFC 7162 §3.2.5),
CLOSE, UNSELECT (RFC 3691), CHECK.

SELECT reads only the index (UIDs, flags, MODSEQs): it never opens a message
file, so it costs the same for small and huge messages (issue 5 §8).
"""

from __future__ import annotations

from mailtool.mra.imap import wire
from mailtool.mra.imap.selected import SelectedMailbox
from mailtool.mra.imap.session import AUTH, SELECTED, Done, Session, State, bad, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import Flags, ListItem, Vanished
from mailtool.protocol.imap.status import ResponseCode


@command("SELECT", "EXAMINE", states=AUTH)
async def select(s: Session, cmd: c.Select) -> Done:
    assert s.mail is not None
    if cmd.qresync is not None and not s.qresync:
        # RFC 7162 §3.2.5: QRESYNC parameter without ENABLE QRESYNC is an error
        raise bad("ENABLE QRESYNC first")
    if s.selected is not None:
        s.close_mailbox()
        # RFC 9051 §6.3.2 / RFC 7162 §3.2.11: the previous mailbox is closed
        s.send(wire.status(None, "OK", "Previous mailbox closed", ResponseCode("CLOSED")))
    if not s.mail.exists(cmd.mailbox):
        raise no("Mailbox does not exist", "NONEXISTENT")
    if cmd.condstore:
        s.enabled.add("CONDSTORE")
    snap = s.mail.snapshot(cmd.mailbox)
    # RFC 3501 §6.3.1: SELECT takes \Recent for this session; EXAMINE only looks (§6.3.2)
    recent = s.mail.claim_recent(cmd.mailbox, peek=cmd.readonly)
    box = SelectedMailbox(
        s.mail, cmd.mailbox, snap, readonly=cmd.readonly, recent=recent, show_recent=not s.rev2
    )
    s.send(Flags(box.all_flags()))
    s.send(wire.number(box.exists, "EXISTS"))
    if not s.rev2:
        s.send(wire.number(len(box.recent), "RECENT"))  # RFC 3501 §7.3.2 (not in RFC 9051)
        unseen = next((i for i, m in enumerate(snap.messages, 1) if "\\Seen" not in m.flags), 0)
        if unseen:
            s.send(wire.status(None, "OK", "First unseen", ResponseCode("UNSEEN", unseen)))
    permanent = box.permanent_flags()  # RFC 3501 §7.1: the keywords in use too
    s.send(wire.status(None, "OK", "Flags permitted", ResponseCode("PERMANENTFLAGS", permanent)))
    s.send(wire.status(None, "OK", "UIDs valid", ResponseCode("UIDVALIDITY", box.uidvalidity)))
    s.send(wire.status(None, "OK", "Predicted next UID", ResponseCode("UIDNEXT", box.uidnext)))
    s.send(wire.status(None, "OK", "Highest", ResponseCode("HIGHESTMODSEQ", box.highestmodseq)))
    if s.rev2:
        # RFC 9051 §6.3.2: the mailbox's LIST response
        s.send(ListItem((), "/", cmd.mailbox))
    if cmd.qresync is not None and cmd.qresync.uidvalidity == box.uidvalidity:
        _qresync(s, box, cmd.qresync)
    s.selected = box
    s.state = State.SELECTED
    mode = "READ-ONLY" if cmd.readonly else "READ-WRITE"
    return ok(f"{cmd.name} completed", mode)


def _qresync(s: Session, box: SelectedMailbox, q: c.Qresync) -> None:
    """RFC 7162 §3.2.5.1: VANISHED (EARLIER) and FETCH for what changed since q.modseq."""
    assert s.mail is not None
    changes = s.mail.changes(box.name, q.modseq)
    known = set(box.uids)
    vanished = [u for u in changes.vanished if u not in known]
    if q.known_uids is not None:
        top = max(box.uidnext - 1, 1)
        vanished = q.known_uids.filter(vanished, top)
    if vanished:
        s.send(Vanished(wire.uid_set(vanished), earlier=True))
    for m in changes.changed:
        if m.uid in known:
            s.send(wire.flags_fetch(box.msn(m.uid), m.uid, m.flags, m.modseq))


@command("CLOSE", states=SELECTED)
async def close(s: Session, cmd: c.Simple) -> Done:
    box = s.selected
    assert box is not None and s.mail is not None
    if not box.readonly:
        # RFC 9051 §6.4.1: expunge \Deleted silently
        deleted = [u for u in box.uids if "\\Deleted" in box.flags(u)]
        if deleted:
            s.mail.expunge(box.name, deleted)
    s.close_mailbox()
    return ok("CLOSE completed")


@command("UNSELECT", states=SELECTED)
async def unselect(s: Session, cmd: c.Simple) -> Done:
    s.close_mailbox()
    return ok("UNSELECT completed")


@command("CHECK", states=SELECTED)
async def check(s: Session, cmd: c.Simple) -> Done:
    return ok("CHECK completed")


__all__ = ["check", "close", "select", "unselect"]
