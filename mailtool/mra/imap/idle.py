"""IDLE (RFC 2177, RFC 9051 §6.3.13): push mailbox changes until ``DONE``.

An idling session sleeps until one of three things happens: the client sends
bytes (``DONE``), the store says this user's mail changed, or the autologout
timer runs out. There is no periodic wake-up: changes made in this process
(another session, an SMTP delivery) come through the store's change hook, and
changes committed by other processes (SMTP worker processes, the CLI) through
the store's cross-process notifier (:mod:`mailtool.store.notify`, one watcher
per process fanned out to the sessions; docs/dev/notifications.md). An idle
session therefore costs no CPU. The autologout timer keeps running while
idling (RFC 2177 §3: clients re-issue IDLE at least every 29 minutes).
"""

from __future__ import annotations

import time

from mailtool.errors import StoreUnavailable
from mailtool.mra.imap import wire
from mailtool.mra.imap.session import AUTH, Closing, Done, Session, bad, command, ok
from mailtool.net.log import log_event
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.command_reader import ContinuationLine
from mailtool.protocol.imap.responses import ContinuationRequest


@command("IDLE", states=AUTH)
async def idle(s: Session, cmd: c.Simple) -> Done:
    s.send(ContinuationRequest("idling"))
    s.reader.expect_line()
    deadline = s.last_command + s.config.limits.imap_idle_timeout  # IDLE was that command
    woken = True
    while True:
        if woken:
            # cleared before looking: a change made while we look wakes us again
            s.changed.clear()
            try:
                s.send_updates(expunge_ok=True)
            except StoreUnavailable as exc:
                # the database is away: keep idling; the store's change bus wakes us
                # again once it is back (store/pg/notify.py), and we look then
                log_event("imap.idle_store_unavailable", id=s.conn.id, error=str(exc))
            await s.flush()
        event = s.reader.next_event()
        if isinstance(event, ContinuationLine):
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            s.send(wire.status(None, "BYE", "Autologout; idle for too long"))
            log_event("imap.autologout", id=s.conn.id, user=s.user)
            raise Closing
        data = await s.read_or_wake(remaining)
        woken = data is None
        if data is not None:
            s.reader.receive_data(data)
    if event.data.strip().upper() != b"DONE":
        raise bad("Expected DONE")
    return ok("IDLE terminated")


__all__ = ["idle"]
