"""IDLE (RFC 2177, RFC 9051 §6.3.13): push mailbox changes until ``DONE``.

Changes made through this process's store (another session, an SMTP
delivery) wake the session at once through the store's change hook; a slow
poll of the index catches changes made by other processes. The autologout
timer keeps running while idling (RFC 2177 §3: clients re-issue IDLE at
least every 29 minutes).
"""

from __future__ import annotations

import time

from mailtool.mra.imap import wire
from mailtool.mra.imap.session import AUTH, Closing, Done, Session, bad, command, ok
from mailtool.net.log import log_event
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.command_reader import ContinuationLine
from mailtool.protocol.imap.responses import ContinuationRequest

#: seconds between index polls while idling (changes from other processes)
POLL_INTERVAL = 0.5


@command("IDLE", states=AUTH)
async def idle(s: Session, cmd: c.Simple) -> Done:
    s.send(ContinuationRequest("idling"))
    s.send_updates(expunge_ok=True)
    await s.flush()
    s.reader.expect_line()
    deadline = time.monotonic() + s.config.limits.imap_idle_timeout
    while True:
        event = s.reader.next_event()
        if isinstance(event, ContinuationLine):
            break
        s.changed.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            s.send(wire.status(None, "BYE", "Autologout; idle for too long"))
            log_event("imap.autologout", id=s.conn.id, user=s.user)
            raise Closing
        data = await s.read_or_wake(min(POLL_INTERVAL, remaining))
        if data is not None:
            s.reader.receive_data(data)
            continue
        s.send_updates(expunge_ok=True)
        await s.flush()
    if event.data.strip().upper() != b"DONE":
        raise bad("Expected DONE")
    return ok("IDLE terminated")


__all__ = ["idle"]
