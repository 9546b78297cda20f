"""The queue runner: accepted mail is delivered at once or kept in the spool until it is.

``submit`` is what the SMTP session awaits before it says ``250``. Two ways:

* every recipient is local: the MDA delivers into each mailbox right there,
  in one worker call (file fsynced, renamed into ``new/``, directory fsynced,
  index committed), and ``250`` means *delivered*, as with LMTP (RFC 2033).
  One file write and fsync per mailbox instead of a queue file, its fsync,
  a second thread hop and an unlink. A recipient whose delivery fails
  (quota, disk full, Sieve reject, a bug) is written to the queue in the same
  call, with its failure recorded and the delivered recipients marked
  delivered, before the ``250``; from there it is retried or bounced like
  any queued recipient. When even that write fails the client gets ``451``.
* any recipient is remote: the message and its envelope are written and
  fsynced in the queue; right after, local recipients are delivered
  in-process by the MDA (no polling delay).

Whatever fails temporarily stays queued and :meth:`QueueRunner.run` retries it.
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

A queue several nodes share (PostgreSQL: the queue has ``claim_due``): the runner takes
due entries with claims (:meth:`mailtool.store.pg.queue.PgQueue.claim_due`, ``FOR
UPDATE SKIP LOCKED``), so each is tried by one node at a time; it renews its claims while
it lives and releases each entry when done with it; an entry taken over from a dead node
(or from this node before a restart) is delivered as at start-up (a copy already in the
mailbox is found, not delivered again). NOTIFY wakes it (``queue.on_wake``), any node's
enqueue or ``mailtool queue flush``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtool.errors import (
    DeliveryError,
    NotFound,
    PermanentFailure,
    StoreUnavailable,
    TemporaryFailure,
)
from mailtool.mda.deliver import Delivered, deliver, redirect_copy
from mailtool.mda.filtering import limits_from_config
from mailtool.net.log import log_event
from mailtool.store.interfaces import RecipientState

from .relay import Relay

if TYPE_CHECKING:
    from mailtool.config import Config

    from .transaction import Envelope

#: concurrent deliveries (each is a few fsyncs in a worker thread)
DELIVERY_CONCURRENCY = 16
#: worker threads for queue writes and deliveries: fsync waits for the disk, not the CPU,
#: and concurrent fsyncs are merged by the block layer (4x the throughput of one at a
#: time). Few: more threads only fight over the GIL (32 cost ~400 futex calls a message)
#: and the directory fsyncs and index commits are shared by group commit anyway.
IO_THREADS = 4
#: how much of a delivered file is read to find our queue id after a crash
SCAN_HEAD = 4096
_TRACE_ID = re.compile(rb"\n\tid ([0-9A-Z]+)")
#: entries a shared queue's runner claims at once (about what it delivers concurrently:
#: claiming more would keep them from the other nodes)
CLAIM_BATCH = 2 * DELIVERY_CONCURRENCY
#: seconds between two tries of a shared queue that did not answer (a database restart)
STORE_RETRY = 1.0


def node_name(config: Config) -> str:
    """This node's name in a shared queue's claims: the same across restarts (a restarted
    node takes its own claims back at once), different for two nodes (each has a data
    dir of its own: certificate and logs)."""
    return f"{socket.gethostname()}:{config.data_path}"


class QueueRunner:
    """Writes accepted mail to the queue and delivers local recipients from it."""

    def __init__(
        self,
        *,
        queue: Callable[[], Any],
        mail: Callable[[], Any],
        config: Config,
        sieve: Callable[[], Any] | None = None,
        hand_off: Callable[[], None] | None = None,
        caches: Callable[[], Any] | None = None,
    ) -> None:
        """``hand_off``: in an SMTP worker process, what tells the main process's runner
        that there is new work in the queue; this runner then delivers nothing queued.
        ``caches``: the stores with the relay's MTA-STS and TLS-RPT state (``Stores``);
        None: files in the data dir."""
        self._queue = queue
        self._hand_off = hand_off
        self._mail = mail
        self._sieve = sieve  # the SieveScripts; None: every message goes to INBOX
        self._sieve_limits = limits_from_config(config.sieve)
        self.config = config
        self._slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()  # queue ids being delivered right now
        self._again: set[str] = set()  # busy ids that came due again meanwhile (rescan after)
        self._wake = asyncio.Event()
        self._shared = False  # a queue several nodes share: claims (module docstring)
        self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="queue-io")
        #: remote recipients, bounces and delay notices (issue 7)
        self.relay = Relay(
            config,
            queue=queue,
            accounts=lambda: getattr(self._mail(), "accounts", None),
            io=self._io,
            schedule=self._start,
            caches=caches,
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
        if local and not remote:
            queued, follow_ups = await self._io(
                self.deliver_now, tx.sender, local, message, metadata
            )
            for new_id in follow_ups:
                self._start(new_id)  # redirects and vacation replies
            if queued is not None:
                self._start(queued)  # bounces for failed recipients; retries come due
            return trace_id
        entry = await self._io(
            self.queue.enqueue, tx.sender, local + remote, message, metadata=metadata
        )
        self._start(entry.id, (entry, message))
        return str(entry.id)

    def _start(self, queue_id: str, known: tuple[Any, bytes] | None = None) -> None:
        if self._hand_off is not None:
            self._hand_off()  # one runner per spool: two would deliver an entry twice
            return
        if queue_id in self._busy:
            # a retry fell due (or wake() came) while it was still busy: look again after
            self._again.add(queue_id)
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
                # start-up: local only; the first scan does the rest
                if not recovering or self._shared:
                    await self.relay.process(queue_id)
        except StoreUnavailable as exc:
            # the database went away mid-delivery: not the recipient's failure (no
            # attempt counted, no retry schedule); claimed again once it answers
            log_event("queue.unavailable", queue=queue_id, error=str(exc), level=logging.WARNING)
            await asyncio.sleep(STORE_RETRY)
            self._again.add(queue_id)
        except Exception:
            logging.getLogger("mailtool").exception("queue.deliver_crash queue=%s", queue_id)
        finally:
            if self._shared:  # done for now: another node may take it when it is due
                with contextlib.suppress(Exception):
                    await self._io(self.queue.release, queue_id)
            self._busy.discard(queue_id)
            if queue_id in self._again:
                self._again.discard(queue_id)
                self.wake()

    # ------------------------------------------------------------------ delivery (thread)

    def deliver_now(
        self, sender: str, local: list[str], message: bytes, metadata: dict[str, Any]
    ) -> tuple[str | None, list[str]]:
        """Deliver to every local recipient before the ``250`` (see the module docstring).

        Returns (the queue id of the entry written for recipients that failed, or
        None when all were delivered; ids of the entries Sieve queued). Raises
        only when a failed recipient could not be queued (the session says 451).
        """
        trace_id = str(metadata["trace_id"])
        follow_ups: list[str] = []
        states: list[RecipientState] = []
        failures: list[tuple[str, DeliveryError | StoreUnavailable]] = []
        with self.queue.delivering(local):  # a crash in here: the next start syncs them
            for rcpt in local:
                try:
                    done = self._attempt(trace_id, rcpt, sender, message)
                except (TemporaryFailure, PermanentFailure, StoreUnavailable) as exc:
                    failures.append((rcpt, exc))
                    continue
                except Exception as exc:  # a bug or trouble we did not foresee: keep, retry
                    logging.getLogger("mailtool").exception("mda.deliver_crash trace=%s",
                                                            trace_id)  # fmt: skip
                    failures.append((rcpt, TemporaryFailure(f"{rcpt}: {type(exc).__name__}")))
                    continue
                states.append(RecipientState(rcpt, "delivered", attempts=1))
                if done.redirects or done.vacations:
                    follow_ups += self._queue_follow_ups(trace_id, rcpt, sender, message, done,
                                                         trace_id)  # fmt: skip
        if not failures:
            return None, follow_ups
        now = time.time()
        states += [self._failed_state(trace_id, rcpt, 0, exc, now) for rcpt, exc in failures]
        entry = self.queue.enqueue(sender, local, message, metadata=metadata, states=states)
        log_event("queue.kept", queue=entry.id, trace=trace_id, rcpts=len(failures))
        return str(entry.id), follow_ups

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
        """One delivery of a queued message; True when it is in the mailbox, else the
        queue says why."""
        try:
            done = self._attempt(queue_id, rcpt, sender, message)
        except (TemporaryFailure, PermanentFailure) as exc:
            state = self._failed_state(queue_id, rcpt, attempts, exc, now)
            self.queue.mark(queue_id, rcpt, state.status, error=state.last_error,
                            next_attempt=state.next_attempt)  # fmt: skip
            return False
        if done.redirects or done.vacations:
            follow_ups += self._queue_follow_ups(queue_id, rcpt, sender, message, done, trace_id)
        return True

    def _attempt(self, log_id: str, rcpt: str, sender: str, message: bytes) -> Delivered:
        """The MDA's delivery to one mailbox (Sieve included), logged when it is done."""
        done = deliver(self._mail(), message, sender=sender, recipient=rcpt,
                       scripts=self._sieve() if self._sieve else None,
                       limits=self._sieve_limits)  # fmt: skip
        log_event("mda.deliver", queue=log_id, rcpt=rcpt, uid=done.uid, size=done.size,
                  outcome="delivered", folders=",".join(f for f, _ in done.placed) or None)
        return done

    def _failed_state(
        self, log_id: str, rcpt: str, attempts: int, exc: DeliveryError | StoreUnavailable,
        now: float,
    ) -> RecipientState:
        """What the queue records after a failed delivery: a temporary failure is retried
        on the [queue] schedule, as a remote one; "failed" is not settled, the relay
        bounces it. The shared database being away is not the recipient's failure: retried
        as soon as it answers, no attempt counted."""
        if isinstance(exc, StoreUnavailable):
            log_event("mda.deliver", queue=log_id, rcpt=rcpt, outcome="deferred",
                      error=f"4.3.0 {exc}", retry_in=STORE_RETRY, level=logging.WARNING)
            return RecipientState(rcpt, "pending", attempts, f"451 4.3.0 {exc}", None)
        error = f"{exc.code} {exc.enhanced} {exc}"
        if isinstance(exc, PermanentFailure):
            log_event("mda.deliver", queue=log_id, rcpt=rcpt, outcome="failed",
                      error=f"{exc.enhanced} {exc}", level=logging.WARNING)  # fmt: skip
            return RecipientState(rcpt, "failed", attempts + 1, error)
        delay = self.relay.policy.delay(attempts + 1)
        log_event("mda.deliver", queue=log_id, rcpt=rcpt, outcome="deferred",
                  error=f"{exc.enhanced} {exc}", retry_in=int(delay), level=logging.WARNING)
        return RecipientState(rcpt, "pending", attempts + 1, error, now + delay)

    def _queue_follow_ups(
        self, queue_id: str, rcpt: str, sender: str, message: bytes, done: Delivered,
        trace_id: str,
    ) -> list[str]:
        """Queue Sieve's redirects (same sender, RFC 5228 §4.2) and vacation replies
        (null sender, RFC 5230 §4.3); returns the new queue ids."""
        edited = dict(done.redirect_messages)  # RFC 5293: as Sieve's editheader left it
        jobs = [(sender, target, edited.get(target) or redirect_copy(message, rcpt),
                 {"redirect_of": queue_id, "trace_id": trace_id})
                for target in done.redirects]  # fmt: skip
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
            if _folder_holds(mailbox, name, trace_id.encode(), since):
                found = True
                with contextlib.suppress(Exception):
                    mailbox.folder(name).sync(force=True)
        return found

    def _resync(self, rcpt: str) -> None:
        """After a crash during a delivery made before the 250: index whatever file the
        crash left unindexed in any folder of ``rcpt`` (Sieve may have filed it anywhere)."""
        try:
            mailbox = self._mail().user(rcpt)
            for name in mailbox.folders():
                mailbox.folder(name).sync(force=True)
        except Exception:
            logging.getLogger("mailtool").exception("queue.resync_failed rcpt=%s", rcpt)

    # ------------------------------------------------------------------ background

    def wake(self) -> None:
        """Look for due retries now (thread-safe callers use ``loop.call_soon_threadsafe``)."""
        self._wake.set()

    async def run(self) -> None:
        """Start-up recovery, then retries when they fall due."""
        queue = self.queue
        if hasattr(queue, "claim_due"):
            await self._run_shared(queue)
            return
        removed = await self._io(queue.recover)
        if removed:
            log_event("queue.recover", removed=len(removed))
        for rcpt in await self._io(queue.interrupted_deliveries):
            await self._io(self._resync, rcpt)
            log_event("queue.resync", rcpt=rcpt)
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

    async def _run_shared(self, queue: Any) -> None:
        """The loop of a queue several nodes share (module docstring): claim what is due,
        deliver it, sleep until NOTIFY or the poll interval; survive the database going
        away (the claims wait, nothing is lost) and come back by itself."""
        self._shared = True
        lease = self.config.queue.claim_lease
        queue.hold_new(node_name(self.config), lease)
        loop = asyncio.get_running_loop()
        stop = await self._io(queue.on_wake, lambda: loop.call_soon_threadsafe(self._wake.set))
        renewing = loop.create_task(self._renew(queue, lease / 3))
        try:
            while True:
                self._wake.clear()
                # what is busy now is skipped by the claim: looked at again when done, in
                # case this wake-up was about it (a retry made due meanwhile)
                self._again.update(self._busy)
                try:
                    batch = await self._io(queue.claim_due, None, CLAIM_BATCH,
                                           skip=list(self._busy))  # fmt: skip
                except StoreUnavailable as exc:
                    log_event("queue.unavailable", error=str(exc), level=logging.WARNING)
                    await self.relay.wait_for_work(STORE_RETRY, self._wake)
                    continue
                started = []
                for queue_id, interrupted in batch:
                    if queue_id in self._busy:
                        continue
                    self._busy.add(queue_id)
                    task = loop.create_task(self._deliver_soon(queue_id, recovering=interrupted))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    started.append(task)
                if len(batch) == CLAIM_BATCH and started:
                    await asyncio.wait(started)  # more is due: claim again once these are done
                    continue
                await self.relay.wait_for_work(self.config.queue.poll_interval, self._wake)
        finally:
            renewing.cancel()
            await asyncio.to_thread(stop)

    async def _renew(self, queue: Any, every: float) -> None:
        """Keep this node's claims alive while it lives (a dead node's expire)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self._io(queue.renew)
            except StoreUnavailable:
                continue


def _folder_holds(mailbox: Any, name: str, wanted: bytes, since: float) -> bool:
    """Does a message of ``mailbox``'s folder ``name`` carry our Received id ``wanted``?
    Maildir: the files' heads; another store: its messages since ``since`` (read by UID)."""
    if hasattr(mailbox, "maildir"):
        return _holds_trace(Path(mailbox.maildir.path(name)), wanted, since)
    folder = mailbox.folder(name)
    for info in folder.messages():
        if info.internal_date < since - 5:
            continue
        with contextlib.suppress(NotFound), folder.open(info.uid) as fh:
            head = fh.read(SCAN_HEAD)
            if any(m.group(1) == wanted for m in _TRACE_ID.finditer(head)):
                return True
    return False


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
