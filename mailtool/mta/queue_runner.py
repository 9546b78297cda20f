"""The queue runner: the spool is the one durability point, delivery comes from it.

``submit`` is what the SMTP session awaits before it says ``250``: the
message and its envelope are written and fsynced by the queue. Right after,
local recipients are delivered in-process by the MDA (no polling delay);
whatever fails temporarily stays queued and :meth:`QueueRunner.run` retries it.
Remote recipients, bounces and delay notices are the relay's
(:class:`~mailtool.mta.relay.Relay`, called after each local pass). A message
leaves the spool only when every recipient is settled.

Exactly once across crashes: a SIGKILL between the Maildir rename and the
queue's "delivered" mark would deliver twice on restart. So, on start-up only,
a local recipient that is still pending is first looked for in every folder
of its mailbox (Sieve may have filed it anywhere): our ``Received:`` header
carries the queue id (``id <QUEUEID>``), and a copy already there is marked
delivered instead of delivered again.

Sieve at delivery (with ``sieve``, the server's SieveScripts): a ``reject`` is
a failed recipient the relay bounces; ``redirect`` copies and ``vacation``
replies are queued as new entries *before* the recipient is marked delivered
(a crash in between finds the filed copy on restart and does not run the
script again).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtool.errors import NotFound, PermanentFailure, TemporaryFailure
from mailtool.mda.deliver import Delivered, deliver, redirect_copy
from mailtool.mda.filtering import limits_from_config
from mailtool.net.log import log_event

from .relay import Relay

if TYPE_CHECKING:
    from mailtool.config import Config

    from .transaction import Envelope

#: concurrent deliveries (each is a few fsyncs in a worker thread)
DELIVERY_CONCURRENCY = 16
#: worker threads for queue writes and deliveries: fsync waits for the disk, not the CPU,
#: and concurrent fsyncs are merged by the block layer (4x the throughput of one at a time)
IO_THREADS = 32
#: how much of a delivered file is read to find our queue id after a crash
SCAN_HEAD = 4096
_TRACE_ID = re.compile(rb"\n\tid ([0-9A-Z]+)")


class QueueRunner:
    """Writes accepted mail to the queue and delivers local recipients from it."""

    def __init__(
        self,
        *,
        queue: Callable[[], Any],
        mail: Callable[[], Any],
        config: Config,
        sieve: Callable[[], Any] | None = None,
    ) -> None:
        self._queue = queue
        self._mail = mail
        self._sieve = sieve  # the SieveScripts; None: every message goes to INBOX
        self._sieve_limits = limits_from_config(config.sieve)
        self.config = config
        self._slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()  # queue ids being delivered right now
        self._wake = asyncio.Event()
        self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="queue-io")
        #: remote recipients, bounces and delay notices (issue 7)
        self.relay = Relay(
            config,
            queue=queue,
            accounts=lambda: getattr(self._mail(), "accounts", None),
            io=self._io,
            schedule=self._start,
        )

    async def _io(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking store work (fsyncs) on the queue's own thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    @property
    def queue(self) -> Any:
        return self._queue()

    # ------------------------------------------------------------------ intake

    async def submit(self, trace_id: str, tx: Envelope, message: bytes, **meta: Any) -> str:
        """Durably queue ``message``; returns the queue id only once it is fsynced (then 250).

        ``trace_id`` is the id our ``Received:`` header carries; the envelope's
        metadata keeps it (crash recovery looks for it) and which recipients are
        local mailboxes (the MDA's) and which are remote (the relay's).
        """
        local, remote = list(tx.local), list(tx.remote)
        metadata = {"trace_id": trace_id, "local": local, "remote": remote, **meta}
        entry = await self._io(
            self.queue.enqueue, tx.sender, local + remote, message, metadata=metadata
        )
        self._start(entry.id, (entry, message))
        return str(entry.id)

    def _start(self, queue_id: str, known: tuple[Any, bytes] | None = None) -> None:
        if queue_id in self._busy:
            return
        self._busy.add(queue_id)
        task = asyncio.get_running_loop().create_task(self._deliver_soon(queue_id, known=known))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_soon(
        self, queue_id: str, recovering: bool = False, known: tuple[Any, bytes] | None = None
    ) -> None:
        try:
            async with self._slots:
                follow_ups = await self._io(self.deliver_one, queue_id, recovering, known)
                for new_id in follow_ups or ():
                    self._start(new_id)  # redirects and vacation replies
                if not recovering:  # start-up: local only; the first scan does the rest
                    await self.relay.process(queue_id)
        except Exception:
            logging.getLogger("mailtool").exception("queue.deliver_crash queue=%s", queue_id)
        finally:
            self._busy.discard(queue_id)

    # ------------------------------------------------------------------ delivery (thread)

    def deliver_one(
        self, queue_id: str, recovering: bool = False, known: tuple[Any, bytes] | None = None
    ) -> list[str]:
        """Deliver every due local recipient of one queued message.

        ``known``: the entry and message just enqueued, so the immediate delivery
        does not read back what it has just written. Returns the ids of the
        entries Sieve queued (redirects, vacation replies) for the caller to start.
        """
        follow_ups: list[str] = []
        queue = self.queue
        if known is not None:
            entry, message = known
        else:
            try:
                entry = queue.get(queue_id)
            except NotFound:
                return follow_ups  # removed meanwhile (``mailtool queue delete``)
            message = None
        local = set(entry.metadata.get("local", ()))
        trace_id = str(entry.metadata.get("trace_id", ""))
        now = time.time()
        unsettled = {r.address for r in entry.recipients if not r.settled}
        for state in entry.pending(now):
            rcpt = state.address
            if rcpt not in local:
                continue  # the relay's (``self.relay.process`` runs after this)
            if recovering and trace_id and self._already_delivered(rcpt, trace_id, entry.created):
                log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="found-after-crash")
            else:
                if message is None:
                    message = entry.read_message()
                if not self._deliver_to(queue_id, rcpt, state.attempts, entry.sender, message,
                                        now, follow_ups, trace_id):
                    continue
            unsettled.discard(rcpt)
            if unsettled:
                queue.mark(queue_id, rcpt, "delivered")
        if not unsettled:
            # the last recipient is settled: the entry goes without a last rewrite (a
            # crash before the removal is caught by the start-up scan above)
            queue.remove(queue_id, force=True)
        return follow_ups

    def _deliver_to(
        self, queue_id: str, rcpt: str, attempts: int, sender: str, message: bytes, now: float,
        follow_ups: list[str], trace_id: str = "",
    ) -> bool:
        """One delivery; True when it is in the mailbox, else the queue says why."""
        queue = self.queue
        try:
            done = deliver(self._mail(), message, sender=sender, recipient=rcpt,
                           scripts=self._sieve() if self._sieve else None,
                           limits=self._sieve_limits)
        except TemporaryFailure as exc:
            delay = self.relay.policy.delay(attempts + 1)  # the [queue] schedule, as remote
            queue.mark(queue_id, rcpt, "pending", error=f"{exc.code} {exc.enhanced} {exc}",
                       next_attempt=now + delay)
            log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="deferred",
                      error=f"{exc.enhanced} {exc}", retry_in=int(delay), level=logging.WARNING)
            return False
        except PermanentFailure as exc:
            # "failed" is not settled: the entry stays until the relay issue bounces it
            queue.mark(queue_id, rcpt, "failed", error=f"{exc.code} {exc.enhanced} {exc}")
            log_event("mda.deliver", queue=queue_id, rcpt=rcpt, outcome="failed",
                      error=f"{exc.enhanced} {exc}", level=logging.WARNING)
            return False
        log_event("mda.deliver", queue=queue_id, rcpt=rcpt, uid=done.uid, size=done.size,
                  outcome="delivered", folders=",".join(f for f, _ in done.placed) or None)
        if done.redirects or done.vacations:
            follow_ups += self._queue_follow_ups(queue_id, rcpt, sender, message, done, trace_id)
        return True

    def _queue_follow_ups(
        self, queue_id: str, rcpt: str, sender: str, message: bytes, done: Delivered,
        trace_id: str,
    ) -> list[str]:
        """Queue Sieve's redirects (same sender, RFC 5228 §4.2) and vacation replies
        (null sender, RFC 5230 §4.3); returns the new queue ids."""
        jobs = [(sender, target, redirect_copy(message, rcpt), {"redirect_of": queue_id,
                 "trace_id": trace_id}) for target in done.redirects]  # fmt: skip
        jobs += [(v.sender, v.recipient, v.message, {"notice": "vacation", "about": queue_id})
                 for v in done.vacations]  # fmt: skip
        ids = []
        for from_, to, data, meta in jobs:
            local, remote = self.relay.split(to)
            if not local and not remote:
                log_event("sieve.follow_up", queue=queue_id, rcpt=rcpt, to=to,
                          outcome="no-such-recipient", level=logging.WARNING)  # fmt: skip
                continue
            entry = self.queue.enqueue(from_, local + remote, data,
                                       metadata={"local": local, "remote": remote, **meta})
            log_event("sieve.follow_up", queue=queue_id, rcpt=rcpt, to=to, new=entry.id,
                      kind=meta.get("notice", "redirect"))  # fmt: skip
            ids.append(str(entry.id))
        return ids

    def _already_delivered(self, rcpt: str, trace_id: str, since: float) -> bool:
        """After a crash: is a copy (our Received id ``trace_id``) in any of its folders?

        Sieve may have filed it anywhere, so every folder is looked at; a folder
        holding a copy is synced, so a file whose index entry the crash cut off
        gets its UID now and the index agrees with the Maildir again.
        """
        try:
            mailbox = self._mail().user(rcpt)
            folders = mailbox.folders()
        except Exception:
            return False
        found = False
        for name in folders:
            if _holds_trace(Path(mailbox.maildir.path(name)), trace_id.encode(), since):
                found = True
                with contextlib.suppress(Exception):
                    mailbox.folder(name).sync(force=True)
        return found

    # ------------------------------------------------------------------ background

    def wake(self) -> None:
        """Look for due retries now (thread-safe callers use ``loop.call_soon_threadsafe``)."""
        self._wake.set()

    async def run(self) -> None:
        """Start-up recovery, then retries when they fall due."""
        queue = self.queue
        removed = await self._io(queue.recover)
        if removed:
            log_event("queue.recover", removed=len(removed))
        for queue_id in await self._io(queue.ids):
            if queue_id not in self._busy:
                self._busy.add(queue_id)
                await self._deliver_soon(queue_id, recovering=True)
        while True:
            now = time.time()
            for entry in await self._io(queue.list):
                local = set(entry.metadata.get("local", ()))
                if any(r.address in local for r in entry.pending(now)) or self.relay.needs_work(
                    entry, now
                ):
                    self._start(entry.id)
            # wake(), `mailtool queue flush` (the wake file) or the poll interval
            await self.relay.wait_for_work(self.config.queue.poll_interval, self._wake)
            self._wake.clear()


def _holds_trace(root: Path, wanted: bytes, since: float) -> bool:
    """Does a file of the Maildir folder ``root`` carry our Received id ``wanted``?"""
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
                if any(m.group(1) == wanted for m in _TRACE_ID.finditer(head)):
                    return True
    return False
