"""ID (RFC 2971) and ENABLE (RFC 5161: CONDSTORE, QRESYNC, IMAP4rev2, UTF8=ACCEPT)."""

from __future__ import annotations

from mailtool import __version__
from mailtool.mra.imap import wire
from mailtool.mra.imap.session import ANY, AUTH, Done, Session, command, ok
from mailtool.net.log import log_event
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import Enabled, IdData
from mailtool.protocol.imap.status import ResponseCode

#: what ENABLE can switch on (RFC 7162 §3.2.3: QRESYNC implies CONDSTORE)
ENABLEABLE = ("CONDSTORE", "QRESYNC", "IMAP4REV2", "UTF8=ACCEPT")
#: how ENABLED spells what it reports (the client's case may differ)
_SPELLING = {"IMAP4REV2": "IMAP4rev2"}


def enable_condstore(s: Session) -> None:
    """A CONDSTORE-enabling command (RFC 7162 §3.1: FETCH MODSEQ or CHANGEDSINCE, SEARCH
    or SORT MODSEQ, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, ENABLE CONDSTORE): the
    first one with a mailbox selected is answered ``OK [HIGHESTMODSEQ n]`` too, before
    its own responses (RFC 7162 §3.1; Dovecot does the same)."""
    if "CONDSTORE" in s.enabled:
        return
    s.enabled.add("CONDSTORE")
    if s.selected is not None:
        code = ResponseCode("HIGHESTMODSEQ", s.selected.highestmodseq)
        s.send(wire.status(None, "OK", "Highest", code))


@command("ID", states=ANY)
async def id_(s: Session, cmd: c.Id) -> Done:
    if cmd.params:
        client = {k.lower(): v for k, v in cmd.params[:30]}
        log_event("imap.id", id=s.conn.id, client=client.get("name"), version=client.get("version"))
    s.send(IdData((("name", "mailtool"), ("version", __version__))))
    return ok("ID completed")


@command("ENABLE", states=AUTH)
async def enable(s: Session, cmd: c.Enable) -> Done:
    newly = []
    for cap in cmd.capabilities:
        cap = cap.upper()
        if cap in ENABLEABLE and cap not in s.enabled:
            if cap in ("CONDSTORE", "QRESYNC"):
                enable_condstore(s)  # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
            s.enabled.add(cap)
            newly.append(_SPELLING.get(cap, cap))
    if s.utf8:
        # RFC 9051 §5.1 / RFC 6855 §3: UTF-8 mailbox names and strings from now on
        s.reader.utf8 = True
    # RFC 5161 §3.1: only the extensions this command enabled
    s.send(Enabled(tuple(newly)))
    return ok("ENABLE completed")


__all__ = ["enable", "id_"]
