"""The SMTP listeners as services of ``mailtool serve`` (factory :func:`create`).

``server.SERVICES`` maps ``smtp``, ``submission`` and ``submissions`` here. Each
listener is a :class:`~mailtool.net.listener.StreamListener` whose handler runs one
:class:`~mailtool.mta.session.SMTPSession` per connection; the three share
one :class:`~mailtool.mta.queue_runner.QueueRunner` (registered once on the
context as a background task), so a message accepted on any of them is
delivered from the same queue.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtool.config import Config
from mailtool.mda.scanners.policy import Scanner
from mailtool.net.limits import Limiter
from mailtool.net.listener import Connection, ConnectionLimits, StreamListener
from mailtool.net.login import LoginGate
from mailtool.protocol.smtp import Reply, codes
from mailtool.store import ids
from mailtool.store.paths import DataDir

from .authn.dkim_sign import DkimSigner, signer_from_config
from .authn.inbound import InboundChecker
from .listener_kind import WORKER_SERVICES, ListenerKind, kind_for
from .queue_runner import QueueRunner
from .relay import shared_queue, wake_server
from .session import SMTPSession

if TYPE_CHECKING:
    from mailtool.server import ServerContext


def new_queue_id() -> str:
    """Sortable by arrival, unique without coordination: microseconds + 40 random bits."""
    return f"{time.time_ns() // 1000:x}{ids.token_hex(5)}".upper()


@dataclass
class SessionEnv:
    """What every session of one listener shares."""

    config: Config
    kind: ListenerKind
    tls_context: ssl.SSLContext | None
    limiter: Limiter
    login_gate: LoginGate
    accounts: Callable[[], Any]
    intake: QueueRunner
    postmaster: tuple[str, ...]
    sessions: set[SMTPSession] = field(default_factory=set)
    #: where DATA over [limits] spool_threshold is written while it arrives (the queue's tmp/)
    spool_dir: Path = Path("queue/tmp")
    #: spooled messages (over spool_threshold) being accepted at once: each is loaded
    #: whole after its final dot, for the queue, the MDA, DKIM and the scanners
    big_messages: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    #: SPF/DKIM/DMARC/ARC on port 25 (None: not checked, e.g. in unit tests)
    inbound: InboundChecker | None = None
    #: DKIM signing of submitted mail (None: not signed)
    signer: DkimSigner | None = None
    #: clamd/spamd before the 250 (None: no scanner configured, or not on this listener)
    scanner: Scanner | None = None
    #: the mail store, for the quota check at RCPT (None: not checked)
    mail: Callable[[], Any] | None = None

    @staticmethod
    def new_queue_id() -> str:
        return new_queue_id()


async def _tls_reports(ctx: ServerContext, runner: QueueRunner) -> None:
    """Daily TLS-RPT reports (RFC 8460), queued for relay like any remote mail."""
    from mailtool.dns import resolver_from_config

    from .authn.tlsrpt import TlsReportLog, report_daily

    async def enqueue(sender: str, to: list[str], message: bytes) -> None:
        meta = {"local": [], "remote": list(to)}
        await asyncio.to_thread(ctx.queue.enqueue, sender, list(to), message, metadata=meta)
        runner.wake()

    await report_daily(
        TlsReportLog(ctx.backend.tlsrpt_log),
        resolver_from_config(ctx.config),
        enqueue,
        organization=ctx.config.hostname,
        sender=f"postmaster@{ctx.config.hostname}",
    )


def _hand_off(ctx: ServerContext) -> Callable[[], None]:
    if shared_queue(ctx.queue):
        return lambda: None
    return lambda: wake_server(DataDir(ctx.config.data_path).queue)


def shared_runner(ctx: ServerContext) -> QueueRunner:
    """The one queue runner of this server, started with the listeners."""

    def build() -> QueueRunner:
        worker = getattr(ctx, "worker", None) is not None
        runner = QueueRunner(
            queue=lambda: ctx.queue,
            mail=lambda: ctx.mail,
            config=ctx.config,
            sieve=lambda: ctx.sieve_scripts,
            caches=lambda: ctx.backend,  # MTA-STS policies, TLS-RPT attempts
            # an SMTP worker process: the main process's runner delivers what it queues
            # (a shared queue's enqueue has woken every node's runner already)
            hand_off=(_hand_off(ctx) if worker else None),
        )
        if worker:
            return runner
        ctx.run_in_background(runner.run)
        if ctx.config.auth.tlsrpt:
            ctx.run_in_background(lambda: _tls_reports(ctx, runner))
        return runner

    return ctx.shared(QueueRunner, build)


class SMTPService:
    """One listening socket (25, 587 or 465 or their configured twins), on the shared
    connection layer (:class:`~mailtool.net.listener.StreamListener`)."""

    def __init__(
        self, env: SessionEnv, host: str, port: int, limits: ConnectionLimits | None = None
    ) -> None:
        self.env = env
        busy = Reply(codes.C421_SERVICE_UNAVAILABLE, ("too many connections",), "4.7.0")
        self.listener = StreamListener(
            env.kind.name, host, port, self.handle,
            limiter=env.limiter,
            busy_reply=busy.format(),
            ssl_context=env.tls_context if env.kind.implicit_tls else None,
            limits=limits,
            # [limits] smtp_workers: other processes listen on the same port
            reuse_port=env.kind.name in WORKER_SERVICES and env.config.limits.smtp_processes > 1,
        )  # fmt: skip

    async def handle(self, conn: Connection) -> None:
        session = SMTPSession(self.env, conn)
        self.env.sessions.add(session)
        try:
            await session.run()
        finally:
            self.env.sessions.discard(session)

    async def start(self) -> tuple[str, int]:
        return await self.listener.start()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting; idle sessions get 421 now, busy ones ``grace`` seconds."""
        for session in list(self.env.sessions):
            session.shutdown()
        await self.listener.stop(grace)


def postmaster_addresses(hostname: str) -> tuple[str, ...]:
    """Where ``RCPT TO:<Postmaster>`` goes: postmaster at our hostname, else at its
    parent domain (``mail.example.org`` -> ``example.org``), whichever is local."""
    parent = hostname.split(".", 1)[1] if hostname.count(".") >= 2 else None
    return (f"postmaster@{hostname}",) + ((f"postmaster@{parent}",) if parent else ())


def shared_scanner(ctx: ServerContext) -> Scanner | None:
    """The one Scanner of this server; None (no cost at all) when none is configured."""

    scanner = ctx.shared(Scanner, lambda: Scanner(ctx.config.scan, ctx.config.hostname))
    return scanner if scanner.enabled else None


def create(ctx: ServerContext, name: str, host: str, port: int) -> SMTPService:
    """Factory named in ``server.SERVICES`` for ``smtp``, ``submission``, ``submissions``."""
    cfg = ctx.config
    submission = kind_for(name).submission
    env = SessionEnv(
        config=cfg,
        kind=kind_for(name),
        tls_context=ctx.certs.context,
        limiter=ctx.limiter(name),
        login_gate=ctx.login_gate,
        accounts=lambda: ctx.accounts,
        intake=shared_runner(ctx),
        postmaster=postmaster_addresses(cfg.hostname),
        inbound=InboundChecker(cfg) if not kind_for(name).submission else None,
        signer=signer_from_config(cfg, ctx.backend.dkim_keys) if submission else None,
        scanner=shared_scanner(ctx) if cfg.scan.submission or not submission else None,
        mail=lambda: ctx.mail,
        spool_dir=DataDir(cfg.data_path).queue_tmp,
    )
    return SMTPService(env, host, port, ctx.connection_limits())
