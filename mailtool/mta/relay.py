"""The relay: what the queue runner calls for everything that is not a local delivery.

For one queued message, :meth:`Relay.process`

1. delivers its due remote recipients: grouped by domain (all of them together
   when a smart host is set), one route (:mod:`.routing`) and one SMTP session
   (:mod:`.outbound`) per group, the groups in parallel;
2. records each answer in the queue right away — delivered, deferred with the
   next attempt from :mod:`.retry`, or failed — so a crash can at most resend
   the recipients of the one session whose ``250`` was not yet written down
   (the window RFC 5321 §6.1 accepts);
3. bounces every "failed" recipient (remote 5xx, null MX, expired, a local
   delivery the MDA refused, ``mailtool queue bounce``) with one DSN
   (:mod:`.dsn`) to the envelope sender, queued here like any message;
4. sends one delay notice once the message has waited ``queue.delay_warning``;
5. removes the message once every recipient is settled.

Flush and retry from another process (``mailtool queue``) rewrite the spool
and touch ``queue/.wake``; :meth:`Relay.wait_for_work` notices within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mailtool.config import Config
from mailtool.dns import Resolver, resolver_from_config
from mailtool.errors import (
    ConfigError,
    NotFound,
    PermanentFailure,
    StoreError,
    TemporaryFailure,
)
from mailtool.net.log import log_event

from .authn.mtasts import MtaStsCache, MtaStsPolicy, enforce_on_route
from .authn.tlsrpt import TlsAttempt, TlsReportLog
from .dsn import Action, RecipientReport, build_dsn, should_notify
from .outbound import RcptResult, Settings, TlsObserver, deliver
from .retry import RetryPolicy
from .routing import Hop, route_for

#: the file ``mailtool queue`` touches to wake the server's runner
WAKE_FILE = ".wake"
#: seconds between looks at the wake file
WAKE_CHECK = 1.0
_ERROR = re.compile(r"^(\d{3}) ([245]\.\d{1,3}\.\d{1,3}) ?(.*?)(?: \(from ([^()\s]+)\))?$", re.S)
SMART_HOST_GROUP = "*"

IO = Callable[..., Awaitable[Any]]


def format_error(result: RcptResult) -> str:
    """What the queue keeps as ``last_error``: the reply, and which host gave it."""
    suffix = f" (from {result.remote})" if result.remote else ""
    return f"{result.diagnostic}{suffix}"


def parse_error(error: str | None) -> tuple[str, str, str]:
    """``last_error`` -> (enhanced status, diagnostic, remote host) for a DSN."""
    m = _ERROR.match(error or "")
    if not m:
        return "5.0.0", error or "", ""
    code, enhanced, text, remote = m.groups()
    return enhanced, f"{code} {enhanced} {text}".strip(), remote or ""


def wake_server(queue_dir: str | Path) -> None:
    """Tell a running server to look at the spool now (``mailtool queue flush``)."""
    (Path(queue_dir) / WAKE_FILE).touch()


def shared_queue(queue: Any) -> bool:
    """Is ``queue`` one several nodes share (PostgreSQL: claims, NOTIFY wakes every node)?"""
    return hasattr(queue, "claim_due")


def wake_runners(queue: Any) -> None:
    """Tell the runner(s) to look at ``queue`` now, from any process: the spool's wake
    file, or a shared queue's NOTIFY to every node."""
    if shared_queue(queue):
        queue.wake()
    else:
        wake_server(queue.path)


async def _to_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


class Relay:
    """Remote delivery, retries, bounces and delay notices for the queue runner."""

    def __init__(
        self,
        config: Config,
        *,
        queue: Callable[[], Any],
        accounts: Callable[[], Any] | None = None,
        io: IO | None = None,
        schedule: Callable[[str], None] | None = None,
        resolver: Resolver | None = None,
        caches: Callable[[], Any] | None = None,
    ) -> None:
        self.config = config
        self._queue = queue
        self._accounts = accounts
        self._io: IO = io or _to_thread
        self._schedule = schedule
        self.resolver = resolver or resolver_from_config(config)
        self.policy = RetryPolicy.from_config(config.queue)
        out = config.outbound
        self.settings = Settings(
            helo=out.helo or config.hostname,
            source_address=out.source_address,
            connect_timeout=out.connect_timeout,
            timeout=out.timeout,
        )
        self._wake_mtime = 0.0
        # the backend's caches (PostgreSQL: shared by every node), else the data dir's files
        policies = caches().mtasts_cache if caches and config.auth.mta_sts else config.data_path
        attempts = caches().tlsrpt_log if caches and config.auth.tlsrpt else config.data_path
        #: RFC 8461 policies of the domains we send to ([auth] mta_sts)
        self.sts: MtaStsCache | None = (
            MtaStsCache(policies, self.resolver, https_port=config.auth.mta_sts_port)
            if config.auth.mta_sts
            else None
        )
        #: our outbound TLS results, reported daily to domains that ask (RFC 8460)
        self.tls_log: TlsReportLog | None = TlsReportLog(attempts) if config.auth.tlsrpt else None

    @property
    def queue(self) -> Any:
        return self._queue()

    # ------------------------------------------------------------------ what is due

    def needs_work(self, entry: Any, now: float) -> bool:
        """Does ``entry`` have anything for :meth:`process` (the runner's poll asks)?"""
        local = set(entry.metadata.get("local", ()))
        if any(r.status == "failed" for r in entry.recipients):
            return True
        if any(r.address not in local for r in entry.pending(now)):
            return True
        pending = entry.pending()
        if pending and self.policy.expired(entry.created, now):
            return True
        return bool(pending) and self._warning_due(entry, now)

    def _warning_due(self, entry: Any, now: float) -> bool:
        warned = bool(entry.metadata.get("delay_warned"))
        return should_notify(entry.sender) and self.policy.warning_due(entry.created, now, warned)

    async def wait_for_work(self, timeout: float, wake: asyncio.Event | None = None) -> None:
        """Sleep up to ``timeout`` s; less when ``wake`` is set (in-process callers) or
        ``mailtool queue`` touched the wake file (other processes; a shared queue's
        runner is woken through ``wake`` by its NOTIFY listener instead)."""
        spool = getattr(self.queue, "path", None)
        if spool is None and wake is not None:  # no wake file: no need to look every second
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=timeout)
            return
        path = Path(spool or ".") / WAKE_FILE
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if wake is None:
                await asyncio.sleep(min(WAKE_CHECK, left))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=min(WAKE_CHECK, left))
                    return
            with contextlib.suppress(OSError):
                mtime = path.stat().st_mtime
                if mtime != self._wake_mtime:
                    self._wake_mtime = mtime
                    return

    # ------------------------------------------------------------------ one message

    async def process(self, queue_id: str) -> None:
        """Everything but local delivery for one queued message (module docstring)."""
        queue = self.queue
        try:
            entry = await self._io(queue.get, queue_id)
        except NotFound:
            return
        now = time.time()
        local = set(entry.metadata.get("local", ()))
        due = [r for r in entry.pending(now) if r.address not in local]
        if due:
            await self._deliver_remote(entry, due, now)
        if self.policy.expired(entry.created, now):
            await self._expire_local(queue_id, local, now)
        try:
            entry = await self._io(queue.get, queue_id)
        except NotFound:
            return
        if any(r.status == "failed" for r in entry.recipients):
            entry = await self._bounce(entry)
        elif entry.pending() and self._warning_due(entry, now):
            await self._warn(entry, now)
        if entry.settled:
            with contextlib.suppress(NotFound, StoreError):
                await self._io(queue.remove, queue_id)
                log_event("queue.done", queue=queue_id)

    async def _deliver_remote(self, entry: Any, due: list[Any], now: float) -> None:
        groups: dict[str, list[Any]] = {}
        for r in due:
            key = SMART_HOST_GROUP if self.config.relay.host else r.address.rpartition("@")[2]
            groups.setdefault(key.lower(), []).append(r)
        message = await self._io(entry.read_message)
        await asyncio.gather(
            *(self._deliver_group(entry, key, rcpts, message, now) for key, rcpts in groups.items())
        )

    async def _deliver_group(
        self, entry: Any, domain: str, rcpts: list[Any], message: bytes, now: float
    ) -> None:
        addresses = [r.address for r in rcpts]
        try:
            route = await route_for(self.config, self.resolver, domain)
            policy = None
            if self.sts is not None and not route.smart_host:
                # enforce mode: only the policy's MX hosts, verified TLS, else defer (4.7.5)
                policy = await self.sts.policy_for(domain)
                route = enforce_on_route(route, policy)
            results = await deliver(
                route, entry.sender, addresses, message, self.settings,
                on_tls=self._tls_observer(domain, policy) if not route.smart_host else None,
            )
        except (TemporaryFailure, PermanentFailure) as exc:
            results = [RcptResult(a, exc.code, exc.enhanced, str(exc)) for a in addresses]
        except ConfigError as exc:
            # e.g. an unreadable relay.password_file: wait for the admin (RFC 3463 X.3.5)
            results = [RcptResult(a, 451, "4.3.5", str(exc)) for a in addresses]
        except Exception as exc:
            # a bug must not lose mail or stop the queue: log it, defer, try again later
            logging.getLogger("mailtool").exception("relay.crash queue=%s", entry.id)
            results = [RcptResult(a, 451, "4.3.0", f"internal error: {exc!r}") for a in addresses]
        attempts = {r.address: r.attempts for r in rcpts}
        for result in results:
            await self._record(entry, result, attempts[result.address] + 1, now)

    def _tls_observer(self, domain: str, policy: MtaStsPolicy | None) -> TlsObserver | None:
        log = self.tls_log
        if log is None:
            return None
        kind = "sts" if policy is not None else "no-policy-found"
        strings = tuple(policy.policy_strings) if policy is not None else ()

        def observe(hop: Hop, ok: bool, failure: str) -> None:
            attempt = TlsAttempt(domain, hop.name, kind, strings, ok, failure, hop.address)
            with contextlib.suppress(OSError):  # a report line is never worth a delivery
                log.record(attempt, time.time())

        return observe

    async def _record(self, entry: Any, result: RcptResult, attempts: int, now: float) -> None:
        """Write one recipient's outcome to the queue (durable before the next step)."""
        error = format_error(result)
        status, next_attempt = result.outcome, None
        if status == "deferred":
            next_attempt = self.policy.next_attempt(entry.created, attempts, now)
            if next_attempt is None:
                status, error = "failed", _expired(error)
        queue_status = {"delivered": "delivered", "deferred": "pending", "failed": "failed"}
        with contextlib.suppress(NotFound):  # deleted by the admin meanwhile
            await self._io(
                self.queue.mark,
                entry.id,
                result.address,
                queue_status[status],
                error=error,
                next_attempt=next_attempt,
            )
        log_event(
            "relay.result",
            queue=entry.id,
            rcpt=result.address,
            outcome=status,
            reply=error,
            retry_in=int(next_attempt - now) if next_attempt else None,
            level=logging.INFO if status == "delivered" else logging.WARNING,
        )

    async def _expire_local(self, queue_id: str, local: set[str], now: float) -> None:
        """Local deliveries that kept failing temporarily also end with the lifetime."""
        entry = await self._io(self.queue.get, queue_id)
        for r in entry.pending():
            if r.address in local:
                error = _expired(r.last_error or "451 4.4.7 not delivered")
                await self._io(self.queue.mark, queue_id, r.address, "failed", error=error)

    # ------------------------------------------------------------------ notices

    def _reports(self, recipients: list[Any], now: float) -> list[RecipientReport]:
        reports = []
        for r in recipients:
            status, diagnostic, remote = parse_error(r.last_error)
            reports.append(RecipientReport(r.address, status, diagnostic, remote, now))
        return reports

    async def _bounce(self, entry: Any) -> Any:
        """One DSN for every failed recipient, then they are "bounced" (settled)."""
        failed = [r for r in entry.recipients if r.status == "failed"]
        now = time.time()
        if should_notify(entry.sender):
            await self._notify(entry, failed, now)
        else:
            # RFC 5321 §6.1: a bounce about a bounce would loop; log and drop it
            log_event("relay.bounce", queue=entry.id, outcome="not-sent-null-sender")
        for r in failed:
            with contextlib.suppress(NotFound):
                entry = await self._io(
                    self.queue.mark, entry.id, r.address, "bounced", error=r.last_error
                )
        return entry

    async def _warn(self, entry: Any, now: float) -> None:
        pending = [r for r in entry.pending() if r.attempts > 0]
        if not pending:
            return
        # recorded first: a crash loses the notice rather than sending it twice
        await self._io(self.queue.update_metadata, entry.id, delay_warned=now)
        await self._notify(entry, pending, now, "delayed", entry.created + self.policy.lifetime)

    async def _notify(
        self,
        entry: Any,
        recipients: list[Any],
        now: float,
        action: Action = "failed",
        retry_until: float | None = None,
    ) -> None:
        """Build the DSN about ``recipients`` of ``entry`` and queue it to the sender."""
        from .service import new_queue_id  # (service imports the runner, which imports us)

        original = await self._io(entry.read_message)
        trace_id = new_queue_id()
        dsn = build_dsn(
            reporting_mta=self.config.hostname,
            queue_id=entry.id,
            sender=entry.sender,
            original=original,
            arrival=entry.created,
            reports=self._reports(recipients, now),
            action=action,
            retry_until=retry_until,
            trace_id=trace_id,
        )
        await self._send_notice(entry, dsn, action, trace_id)

    def split(self, address: str) -> tuple[list[str], list[str]]:
        """(local mailboxes, remote addresses) for a notice to ``address``."""
        accounts = self._accounts() if self._accounts else None
        resolved = accounts.resolve(address) if accounts is not None else None
        if resolved is None:
            return [], [address]
        local = [a for a in resolved if accounts.resolve(a) is not None]
        return local, [a for a in resolved if a not in local]

    async def _send_notice(self, entry: Any, dsn: bytes, kind: str, trace_id: str) -> None:
        local, remote = self.split(entry.sender)
        if not local and not remote:
            log_event(
                "relay.notice",
                queue=entry.id,
                kind=kind,
                outcome="no-such-sender",
                level=logging.WARNING,
            )
            return
        notice = await self._io(
            self.queue.enqueue,
            "",  # RFC 3464 §2: a DSN has a null reverse-path
            local + remote,
            dsn,
            metadata={
                "trace_id": trace_id,
                "local": local,
                "remote": remote,
                "notice": kind,
                "about": entry.id,
            },
        )
        log_event("relay.notice", queue=entry.id, kind=kind, notice=notice.id, to=entry.sender)
        if self._schedule is not None:
            self._schedule(notice.id)


def _expired(error: str) -> str:
    """Rewrite a deferral as the 4.4.7 failure that ends it (RFC 3463 §3.5)."""
    _status, diagnostic, remote = parse_error(error)
    suffix = f" (from {remote})" if remote else ""
    return f"550 5.4.7 message expired in the queue; last error: {diagnostic}{suffix}"
