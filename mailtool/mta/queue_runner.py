"""The queue runner: the spool is the one durability point, delivery comes from it.

``submit`` is what the SMTP session awaits before it says ``250``: the
message and its envelope are written and fsynced by the queue. Right after,
local recipients are delivered in-process by the MDA (no polling delay);
whatever fails temporarily stays queued and :meth:`QueueRunner.run` retries it.
Remote recipients (authenticated submission to other domains) stay queued as
``pending-remote`` until the relay (a later issue) picks them up. A message
leaves the spool only when every recipient is settled.

Exactly once across crashes: a SIGKILL between the Maildir rename and the
queue's "delivered" mark would deliver twice on restart. So, on start-up only,
a local recipient that is still pending is first looked for in its INBOX: our
``Received:`` header carries the queue id (``id <QUEUEID>``), and a copy
already there is marked delivered instead of delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtool.errors import PermanentFailure, TemporaryFailure
from mailtool.mda.deliver import deliver
from mailtool.net.log import log_event

if TYPE_CHECKING:
    from mailtool.config import Config

    from .transaction import Envelope

#: seconds between retries of temporarily failed local deliveries (doubling, capped)
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0
#: concurrent deliveries (each is a few fsyncs in a worker thread)
DELIVERY_CONCURRENCY = 8
#: how much of a delivered file is read to find our queue id after a crash
SCAN_HEAD = 4096
_QUEUE_ID = re.compile(rb"\n\tid ([0-9A-Z]+)")

PENDING = "pending"
PENDING_REMOTE = "pending-remote"
DELIVERED = "delivered"
FAILED = "failed"


class QueueRunner:
    """Writes accepted mail to the queue and delivers local recipients from it."""

    def __init__(self, *, queue: Callable[[], Any], mail: Callable[[], Any], config: Config,
                 accounts: Callable[[], Any]) -> None:
        self._queue = queue
        self._mail = mail
        self._accounts = accounts
        self.config = config
        self._slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()  # queue ids being delivered right now
        self._wake = asyncio.Event()

    @property
    def queue(self) -> Any:
        return self._queue()

    # ------------------------------------------------------------------ intake

    async def submit(self, queue_id: str, tx: Envelope, message: bytes) -> None:
        """Durably queue ``message``; returns only once it is fsynced (then 250)."""
        local, remote = list(tx.local), list(tx.remote)
        await asyncio.to_thread(
            self.queue.enqueue, tx.sender, local + remote, message,
            id=queue_id, local=local,
        )
        self._start(queue_id)

    def _start(self, queue_id: str) -> None:
        if queue_id in self._busy:
            return
        self._busy.add(queue_id)
        task = asyncio.get_running_loop().create_task(self._deliver_soon(queue_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_soon(self, queue_id: str) -> None:
        try:
            async with self._slots:
                await asyncio.to_thread(self.deliver_one, queue_id, False)
        except Exception:
            logging.getLogger("mailtool").exception("queue.deliver_crash queue=%s", queue_id)
        finally:
            self._busy.discard(queue_id)

    # ------------------------------------------------------------------ delivery (thread)

    def deliver_one(self, queue_id: str, recovering: bool) -> None:
        """Deliver every pending local recipient of one queued message."""
        queue = self.queue
        entry = queue.get(queue_id)
        if entry is None:
            return
        message = queue.read(queue_id)
        mail = self._mail()
        now = time.time()
        for rcpt, state in entry.recipients.items():
            if state.status != PENDING:
                continue
            if not entry.is_local(rcpt):
                queue.mark(queue_id, rcpt, PENDING_REMOTE)
                continue
            if recovering and self._already_delivered(rcpt, queue_id, entry.created):
                queue.mark(queue_id, rcpt, DELIVERED)
                log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="found-after-crash")
                continue
            try:
                done = deliver(mail, message, sender=entry.sender, recipient=rcpt)
            except TemporaryFailure as exc:
                attempts = state.attempts + 1
                delay = min(RETRY_FIRST * 2 ** (attempts - 1), RETRY_MAX)
                queue.mark(queue_id, rcpt, PENDING, error=f"{exc.code} {exc.enhanced} {exc}",
                           next_attempt=now + delay)
                log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="deferred",
                          error=f"{exc.enhanced} {exc}", retry_in=int(delay),
                          level=logging.WARNING)
                continue
            except PermanentFailure as exc:
                queue.mark(queue_id, rcpt, FAILED, error=f"{exc.code} {exc.enhanced} {exc}")
                log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="failed",
                          error=f"{exc.enhanced} {exc}", level=logging.WARNING)
                continue
            queue.mark(queue_id, rcpt, DELIVERED)
            log_event("mda.deliver", queue=queue_id, rcpt=rcpt, size=done.size,
                      outcome="delivered")
        entry = queue.get(queue_id)
        if entry is not None and all(
            s.status in (DELIVERED, FAILED) for s in entry.recipients.values()
        ):
            # bounces for FAILED recipients belong to the relay issue; nothing is lost
            # silently: the failure is logged above
            queue.remove(queue_id)

    def _already_delivered(self, rcpt: str, queue_id: str, since: float) -> bool:
        """After a crash: is a copy of ``queue_id`` already in ``rcpt``'s INBOX?"""
        try:
            root = Path(self._accounts().maildir_path(rcpt))
        except Exception:
            return False
        wanted = queue_id.encode()
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                for item in (root / sub).iterdir():
                    try:
                        if item.stat().st_mtime < since - 5:
                            continue
                        with open(item, "rb") as fh:
                            head = fh.read(SCAN_HEAD)
                    except OSError:
                        continue
                    if any(m.group(1) == wanted for m in _QUEUE_ID.finditer(head)):
                        return True
        return False

    # ------------------------------------------------------------------ background

    def wake(self) -> None:
        """Look for due retries now (thread-safe callers use ``loop.call_soon_threadsafe``)."""
        self._wake.set()

    async def run(self) -> None:
        """Start-up recovery, then retries when they fall due."""
        for queue_id in await asyncio.to_thread(self.queue.ids):
            if queue_id in self._busy:
                continue
            self._busy.add(queue_id)
            try:
                async with self._slots:
                    await asyncio.to_thread(self.deliver_one, queue_id, True)
            except Exception:
                logging.getLogger("mailtool").exception("queue.recover_crash queue=%s", queue_id)
            finally:
                self._busy.discard(queue_id)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=RETRY_FIRST / 4)
            self._wake.clear()
            for queue_id in await asyncio.to_thread(self.queue.due, time.time()):
                self._start(queue_id)
