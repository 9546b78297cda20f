"""COPY, MOVE and their UID forms (RFC 9051 §6.4.7-8, MOVE RFC 6851, UIDPLUS
RFC 4315 COPYUID).

A missing destination is ``NO [TRYCREATE]`` (the client may create it and
retry). MOVE sends its COPYUID in an untagged OK before the EXPUNGE (or
VANISHED) responses, as RFC 6851 §4.3 asks.
"""

from __future__ import annotations

from mailtool.mra.imap import wire
from mailtool.mra.imap.session import SELECTED, Done, Session, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.status import ResponseCode


@command("COPY", "MOVE", states=SELECTED)
async def copy(s: Session, cmd: c.Copy) -> Done:
    box = s.selected
    assert box is not None and s.mail is not None
    if cmd.move and box.readonly:
        raise no("Mailbox is read-only", "READ-ONLY")
    if not s.mail.exists(cmd.mailbox):
        raise no("Mailbox does not exist", "TRYCREATE")
    uids = [u for u in box.resolve(cmd.sequence_set, uid=cmd.uid) if not box.expunged(u)]
    name = f"{'UID ' if cmd.uid else ''}{cmd.name}"
    if not uids:
        return ok(f"{name} completed; no messages")
    op = s.mail.move if cmd.move else s.mail.copy
    uidvalidity, pairs = op(box.name, uids, cmd.mailbox)
    code = None
    if pairs:
        src = wire.uid_set(a for a, _ in pairs)
        dst = wire.uid_set(b for _, b in pairs)
        # RFC 4315 §3: source and destination sets in matching order
        if [a for a, _ in pairs] == sorted(a for a, _ in pairs) and [b for _, b in pairs] == sorted(
            b for _, b in pairs
        ):
            code = ResponseCode("COPYUID", (uidvalidity, src, dst))
    if cmd.move:
        if code is not None:
            s.send(wire.status(None, "OK", "Moved", code))
            code = None
        for resp in box.expunge_responses([a for a, _ in pairs], qresync=s.qresync):
            s.send(resp)
        if s.qresync:
            # RFC 6851 §4.4: under QRESYNC MOVE expunges as UID EXPUNGE does, whose tagged
            # OK carries the new HIGHESTMODSEQ (RFC 7162 §3.2.10; Dovecot does)
            box.poll()
            return ok(f"{name} completed", "HIGHESTMODSEQ", box.highestmodseq)
    return ok(f"{name} completed", code.name if code else None, code.value if code else None)


__all__ = ["copy"]
