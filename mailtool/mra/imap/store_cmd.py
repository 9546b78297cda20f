"""STORE and UID STORE: FLAGS / +FLAGS / -FLAGS, ``.SILENT``, and CONDSTORE's
UNCHANGEDSINCE (RFC 9051 §6.4.6, RFC 7162 §3.1.3).

The store applies the change and reports each message whose flags really
changed (with its new MODSEQ) and the ones refused because they changed after
UNCHANGEDSINCE; the latter come back in ``OK [MODIFIED set]``.
"""

from __future__ import annotations

from mailtool.mra.imap import wire
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.session import SELECTED, Done, Session, bad, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.sequence import SequenceSet

#: \Recent cannot be stored (RFC 3501 §2.3.2): session state, not a stored flag
UNSETTABLE = frozenset(("\\recent",))


def clean_flags(flags: tuple[str, ...]) -> list[str]:
    """The flags to store; \\Recent is refused (RFC 3501 §2.3.2: "This flag can not be
    altered by the client"; Dovecot answers BAD too, for STORE and APPEND)."""
    if any(f.lower() in UNSETTABLE for f in flags):
        raise bad("\\Recent can not be stored")
    return [f for f in flags if f != "\\*"]


@command("STORE", states=SELECTED)
async def store(s: Session, cmd: c.Store) -> Done:
    box = s.selected
    assert box is not None and s.mail is not None
    if box.readonly:
        raise no("Mailbox is read-only", "READ-ONLY")
    if cmd.unchangedsince is not None:
        enable_condstore(s)
    uids = [u for u in box.resolve(cmd.sequence_set, uid=cmd.uid) if not box.expunged(u)]
    flags = clean_flags(cmd.flags)
    changed, failed = s.mail.set_flags(box.name, uids, cmd.mode, flags, cmd.unchangedsince)
    box.note_own_flags(changed)
    for resp in box.flag_updates():  # a new keyword: FLAGS before the FETCH showing it
        s.send(resp)
    changed_uids = {m.uid for m in changed}
    modseq = s.condstore
    for uid in uids:
        if uid in failed:
            continue
        if not cmd.silent:
            # RFC 9051 §6.4.6: the new flags of every addressed message
            s.send(box.flags_response(uid, modseq=modseq))
        elif cmd.unchangedsince is not None and uid in changed_uids:
            # RFC 7162 §3.1.3: .SILENT still reports the new MODSEQ
            s.send(wire.flags_fetch(box.msn(uid), uid, box.flags(uid), box.meta[uid].modseq))
    name = f"{'UID ' if cmd.uid else ''}STORE"
    if failed:
        numbers = failed if cmd.uid else [box.msn(u) for u in failed]
        return ok(f"{name} completed; some messages were modified", "MODIFIED",
                  SequenceSet.from_numbers(numbers))  # fmt: skip
    return ok(f"{name} completed")


__all__ = ["clean_flags", "store"]
