"""Composition root of ``mailtool serve``: config -> store, mda, mta, mra, listeners.

Each service (smtp, submission, imap, ...) is created by a factory named in
:data:`SERVICES` with the signature ``create(ctx, name, host, port) -> Service``.
A factory module that is not part of this build is reported as unavailable
rather than failing the whole server.

``[limits] smtp_workers`` (by default one more than the cores, at most 4): the
main process starts that many minus one SMTP worker processes
(:func:`worker_main`), each listening on the inbound SMTP port with it
(SO_REUSEPORT: the kernel spreads connections over the processes). Their
connection counts are shared (:mod:`mailtool.net.shared_limiter`), so the
``[limits]`` bounds hold for all of them together; submission (587, 465) stays in
the main process, where every password check and its throttle are. A
worker accepts and delivers like the main process but runs no queue runner:
what it queues (remote recipients, failed deliveries) it hands to the main
process's runner through the queue's wake file. Workers stop with the main
process (SIGTERM from its stop, or on their own when it is gone) and get its
SIGHUP (certificate reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import gc
import importlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mailtool import privsep
from mailtool.config import Config
from mailtool.errors import MailtoolError, ServiceError
from mailtool.mta.listener_kind import WORKER_SERVICES
from mailtool.net.connection import ConnectionLimits
from mailtool.net.limits import ConnectionLimiter, Limiter
from mailtool.net.log import log_event
from mailtool.net.login import LoginGate
from mailtool.net.proxy import proxy_networks
from mailtool.net.shared_limiter import SharedConnectionLimiter
from mailtool.net.tls import CertStore
from mailtool.store.backends import Stores
from mailtool.store.paths import DataDir

if TYPE_CHECKING:
    from mailtool.store.interfaces import (
        AccountStore,
        MailStore,
        QueueStore,
        SieveScriptStore,
        StoreServices,
    )

T = TypeVar("T")

#: seconds a thread may hold the GIL before another is given it (Python's default: 0.005)
GIL_SWITCH_INTERVAL = 0.02

#: service name -> "module:factory"
SERVICES: dict[str, str] = {
    "smtp": "mailtool.mta.service:create",
    "submission": "mailtool.mta.service:create",
    "submissions": "mailtool.mta.service:create",
    "imap": "mailtool.mra.imap.service:create",
    "imaps": "mailtool.mra.imap.service:create",
    "pop3": "mailtool.mra.pop3.service:create",
    "pop3s": "mailtool.mra.pop3.service:create",
    "managesieve": "mailtool.mra.managesieve.service:create",
    "https": "mailtool.web.service:create",
    "http": "mailtool.web.service:create",
}

#: services whose socket speaks TLS from the first byte (RFC 8314)
IMPLICIT_TLS = frozenset({"submissions", "imaps", "pop3s"})
#: seconds between a worker's checks that the main process is still there
PARENT_CHECK = 1.0


class Service(Protocol):
    """What a factory returns: something that listens and can stop."""

    async def start(self) -> tuple[str, int]: ...

    async def stop(self, grace: float = 10.0) -> None: ...


@dataclass
class ServerContext:
    """Everything a service needs, built once by :class:`MailServer`: typed services,
    each built on first use and shared by every listener of the process (in-process
    change notifications, IMAP IDLE seeing an SMTP delivery, depend on one instance)."""

    config: Config
    certs: CertStore
    #: an SMTP worker process: the slot-file token the main process gave it, else None
    worker: str | None = None
    #: this process's place among the SMTP processes (0: the main one)
    worker_index: int = 0
    #: the stores; None: built from ``[store]`` on first use (tests hand in fakes)
    store_services: StoreServices | None = None
    #: the bound listeners, name -> (host, port), filled in by :meth:`MailServer.start`
    #: (what the web side advertises)
    listeners: dict[str, tuple[str, int]] = field(default_factory=dict)
    _background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: kind -> this process's one instance of it, in creation order (see :meth:`shared`)
    _shared: dict[type, Any] = field(default_factory=dict)

    def limiter(self, service: str = "") -> Limiter:
        """The connection bounds of one listener; those of a port several processes
        serve count for all of them (:mod:`mailtool.net.shared_limiter`)."""
        limits = self.config.limits
        if service in WORKER_SERVICES and limits.smtp_processes > 1:
            return self.shared_limiter()
        return ConnectionLimiter(limits.max_connections, limits.max_connections_per_ip)

    def shared_limiter(self) -> SharedConnectionLimiter:
        """The inbound SMTP port's limiter, shared with the SMTP worker processes (one
        port: :data:`WORKER_SERVICES`); the main process makes its file, each start anew."""
        limits = self.config.limits
        service = WORKER_SERVICES[0]
        return self.shared(
            SharedConnectionLimiter,
            lambda: SharedConnectionLimiter(
                DataDir(self.config.data_path).run / f"connections-{service}.shm",
                limits.max_connections, limits.max_connections_per_ip,
                index=self.worker_index, processes=limits.smtp_processes,
                create=self.worker is None,
            ),
        )  # fmt: skip

    def connection_limits(self) -> ConnectionLimits:
        """The per-connection bounds every listener's connections get."""
        limits = self.config.limits
        return ConnectionLimits(
            output_buffer=limits.output_buffer, write_timeout=limits.write_timeout,
            # [listen] proxy_from: whose PROXY header names the client (mailtool.net.proxy)
            proxy_from=proxy_networks(self.config.listen.proxy_from),
        )

    @property
    def login_gate(self) -> LoginGate:
        """Every protocol's password checks (:mod:`mailtool.net.login`), one per process."""
        return self.shared(LoginGate, lambda: LoginGate.from_config(self.config.security))

    def run_in_background(self, factory: Callable[[], Awaitable[None]]) -> None:
        """Register a long-running task (the queue runner) started with the listeners."""
        self._background.append(factory)

    def shared(self, kind: type[T], build: Callable[[], T]) -> T:
        """This process's one ``kind``, built on first use: ``imap`` and ``imaps`` share
        one ImapServer, every SMTP listener one queue runner. Closed by :meth:`close`."""
        found = self._shared.get(kind)
        if found is None:
            found = self._shared[kind] = build()
        return found  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close every shared instance that can be, the newest first (a server before the
        stores it uses, the stores before the login gate their hashes run in)."""
        for service in reversed(list(self._shared.values())):
            close = getattr(service, "close", None)
            if callable(close):
                close()
        self._shared.clear()

    def _open_stores(self) -> Stores:
        from mailtool.store.accounts import check_hash

        # argon2id in the login gate's processes (why: mailtool.net.login)
        return Stores(
            self.config, worker=self.worker, check_hash=self.login_gate.offload(check_hash)
        )

    @property
    def backend(self) -> StoreServices:
        """The store services of this process, on ``[store]``'s backend."""
        if self.store_services is None:
            self.store_services = self.shared(Stores, self._open_stores)
        return self.store_services

    @property
    def accounts(self) -> AccountStore:
        return self.backend.accounts

    @property
    def mail(self) -> MailStore:
        return self.backend.mail

    @property
    def sieve_scripts(self) -> SieveScriptStore:
        return self.backend.sieve_scripts

    @property
    def sieve(self) -> Any:
        """The Sieve language (check, EXTENSIONS) for ManageSieve: mra may not import mda."""
        import mailtool.mda.sieve

        return mailtool.mda.sieve

    @property
    def queue(self) -> QueueStore:
        return self.backend.queue


def check_data_dir(path: Path) -> None:
    """Create the data dir and prove it is writable, or say what to do."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        DataDir(path).run.mkdir(exist_ok=True)
        probe = DataDir(path).run / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise ServiceError(
            f"data directory {path} is not writable ({exc.strerror}); "
            "choose another with --data-dir or fix its permissions"
        ) from None


def unreadable_certs(certs: CertStore) -> str | None:
    """The certificate and key files this process can no longer read (comma-separated):
    after the privilege drop a key left root's cannot be reloaded on SIGHUP."""
    names = [str(p) for p in (certs.cert, certs.key) if not os.access(p, os.R_OK)]
    return ",".join(names) or None


def write_listeners(path: Path, bound: dict[str, tuple[str, int]]) -> None:
    """``run/listeners.json``: service -> "host:port", written atomically."""
    data = {name: _hostport(host, port) for name, (host, port) in bound.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _load_factory(name: str) -> Callable[..., Service] | None:
    module_name, attr = SERVICES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, attr)


class MailServer:
    """Builds the context, starts every enabled service, and stops them cleanly."""

    def __init__(
        self, config: Config, *, worker: str | None = None, worker_index: int = 0
    ) -> None:
        self.config = config
        self.data_dir = config.data_path
        self.paths = DataDir(self.data_dir)
        self.worker = worker  # see ServerContext.worker
        self.worker_index = worker_index
        self.services: dict[str, Service] = {}
        self.bound: dict[str, tuple[str, int]] = {}
        self.unavailable: list[str] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.workers: list[asyncio.subprocess.Process] = []
        self.ctx: ServerContext | None = None
        #: who serve runs as once its listeners are bound (None: started as that user)
        self.user: privsep.ServiceUser | None = None
        self._code_places: list[Path] = []

    def prepare(self) -> ServerContext:
        # the service user first: a missing one with create_user = false exits before
        # anything is written (a worker's main process has created it already)
        if privsep.wants_drop(self.config.server.user):
            self.user = privsep.service_user(
                self.config.server.user,
                create=self.config.server.create_user and self.worker is None,
            )
            self._code_places = privsep.code_places()
        check_data_dir(self.data_dir)
        cert, key = self.config.tls.cert, self.config.tls.key
        if self.config.tls.acme:  # the ACME pair from the start (mailtool.acme.manager)
            from mailtool.acme.manager import ensure_placeholder, serve_task

            cert, key = ensure_placeholder(self.data_dir, self.config.hostname)
        certs = CertStore.open(cert, key, self.paths.tls, self.config.hostname)
        self.ctx = ServerContext(
            config=self.config,
            certs=certs,
            worker=self.worker,
            worker_index=self.worker_index,
        )
        if self.config.tls.acme and self.worker is None:
            self.ctx.run_in_background(serve_task(self.ctx, self.signal_workers))
        # a database of another schema version: refuse now, naming the command that fixes it
        hint = f" --config {self.config.source}" if self.config.source else ""
        stores = self.ctx.backend
        if isinstance(stores, Stores):
            stores.check(config_hint=hint)
        return self.ctx

    async def start(self) -> dict[str, tuple[str, int]]:
        ctx = self.ctx or self.prepare()
        ctx.listeners = self.bound  # the bound ports, for what the web side advertises
        for name, (host, port) in self.config.listen.enabled().items():
            factory = _load_factory(name)
            if factory is None:
                self.unavailable.append(name)
                continue
            service = factory(ctx, name, host, port)
            try:
                self.bound[name] = await service.start()
            except OSError as exc:
                await self.stop()
                if exc.errno == errno.EADDRINUSE:
                    why = "is already in use (is another mail server running?)"
                elif exc.errno == errno.EACCES:
                    why = "needs root (ports below 1024)"
                else:
                    why = f"cannot be opened ({exc.strerror})"
                raise ServiceError(
                    f"{host}:{port} for {name} {why}; change listen.{name} in the config "
                    f"or set it to false"
                ) from None
            self.services[name] = service
        if self.worker is None:
            await self._start_workers(ctx)  # as root still: they bind the SMTP ports too
        try:
            self._become_service_user()
        except Exception:
            await self.stop()
            raise
        for factory in ctx._background:
            self._tasks.append(asyncio.create_task(factory()))
        if self.worker is None:
            write_listeners(self.paths.listeners_file, self.bound)
        log_event(
            "server.start", listeners=",".join(f"{k}={h}:{p}" for k, (h, p) in self.bound.items()),
            worker=self.worker, loop=type(asyncio.get_running_loop()).__module__.split(".")[0],
        )
        return self.bound

    def _become_service_user(self) -> None:
        """Every listener is bound (and, in the main process, the workers started): the data
        dir tree goes to the service user, 0600/0700, then root is given up (privsep)."""
        if self.worker is None:
            fix = privsep.hand_over_data_dir(self.data_dir, self.user)
            if fix.chowned or fix.chmodded:
                log_event("server.data_dir_fixed", path=str(self.data_dir),
                          chowned=fix.chowned, chmodded=fix.chmodded)  # fmt: skip
        if self.user is not None:
            self._drop_privileges(self.user)
        elif privsep.is_root():
            log_event("server.root", user="root", level=logging.WARNING,
                      note="[server] user = root: serve keeps root privileges")  # fmt: skip
        if self.worker is None:
            privsep.mark_private(self.data_dir)  # by its owner: later starts walk less

    def _drop_privileges(self, user: privsep.ServiceUser) -> None:
        privsep.drop_to(user)
        problem = privsep.reach_problem(self.data_dir, self._code_places)
        if problem is not None:
            raise ServiceError(
                f"the service user {user.name} cannot use {problem}; or set another [server] user"
            )
        log_event("server.user", user=user.name, uid=user.uid, gid=user.gid,
                  worker=self.worker)  # fmt: skip
        assert self.ctx is not None
        unreadable = unreadable_certs(self.ctx.certs)
        if unreadable:  # said now, not first at the next SIGHUP
            log_event(
                "tls.reload_unavailable", files=unreadable, level=logging.WARNING,
                note=f"not readable by {user.name}: SIGHUP cannot reload them",
            )  # fmt: skip

    async def _start_workers(self, ctx: ServerContext) -> None:
        """``smtp_processes - 1`` processes on the inbound SMTP port just bound (see the
        module docstring)."""
        smtp = {n: hp for n, hp in self.bound.items() if n in WORKER_SERVICES}
        if self.config.limits.smtp_processes < 2 or not smtp:
            return
        data = dataclasses.asdict(self.config)
        data.pop("source", None)
        for i in range(1, self.config.limits.smtp_processes):
            spec = {
                "index": i,
                "config": data,
                "source": self.config.source,
                "listen": {n: _hostport(h, p) for n, (h, p) in smtp.items()},
                "token": f"{ctx.queue.slot_token}w{i}",
                "parent": os.getpid(),
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from mailtool.server import worker_main; worker_main()",
                stdin=asyncio.subprocess.PIPE,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec).encode())
            proc.stdin.close()
            self.workers.append(proc)
            self._tasks.append(asyncio.create_task(self._note_exit(proc, i)))
        log_event("server.workers", smtp_workers=len(self.workers),
                  pids=",".join(str(p.pid) for p in self.workers))  # fmt: skip

    async def _note_exit(self, proc: asyncio.subprocess.Process, index: int) -> None:
        """A worker that ends while the server runs is said in the log (the others and
        the main process keep serving the port); its connections no longer count."""
        code = await proc.wait()
        assert self.ctx is not None
        self.ctx.shared_limiter().forget(index)
        if not self._stop.is_set():
            log_event("server.worker_exit", pid=proc.pid, code=code, level=logging.WARNING)

    def signal_workers(self, signum: int) -> None:
        for proc in self.workers:
            if proc.returncode is None:
                # PermissionError: a worker still root, not yet past its own privilege drop
                # (it stops by itself once this process is gone: _watch_parent)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    proc.send_signal(signum)

    async def _stop_workers(self, grace: float) -> None:
        self.signal_workers(signal.SIGTERM)
        for proc in self.workers:
            try:
                await asyncio.wait_for(proc.wait(), grace + 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    proc.kill()
                await proc.wait()
        self.workers.clear()

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        await self._stop.wait()

    async def stop(self, grace: float = 10.0) -> None:
        await asyncio.gather(
            self._stop_workers(grace), *(s.stop(grace) for s in self.services.values())
        )
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ctx is not None:
            self.ctx.close()
        if self.worker is None:
            with contextlib.suppress(OSError):
                self.paths.listeners_file.unlink()
        log_event("server.stop", worker=self.worker)


#: CPython's cycle-collector thresholds in the server's processes (the default is 700,
#: 10, 10). The first SELECT after 100,000 files arrived makes ~400,000 container objects
#: (rows, index entries, the listing kept for the next SELECT): at the defaults the
#: collector ran ~1,200 times during it, 8 of them full passes over the whole heap, 0.5 to
#: 0.8 s of a 3 s SELECT; at these, 85 times and none full, 0.24 s. The price: a full
#: pass (what frees cyclic garbage that survived two young ones) every ~1,000,000
#: allocations instead of ~70,000. SMTP spent ~30 us a message in it at the defaults.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """:data:`GC_THRESHOLDS`, and what start-up made (modules, classes, the config) moved
    out of the collector's sight: it is never garbage, and no full pass walks it again."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(main)`` on uvloop when it is installed: libuv's event loop does in C
    what asyncio does in Python for every connection, read, write and timer (bench_smtp:
    ~10% less CPU per message). ``MAILTOOL_EVENT_LOOP=asyncio`` keeps asyncio's own.
    The cycle collector is tuned first (:func:`tune_gc`)."""
    tune_gc()
    factory = None
    if os.environ.get("MAILTOOL_EVENT_LOOP", "uvloop") != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def _hostport(host: str, port: int) -> str:
    return f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"


async def run(
    config: Config,
    on_started: Callable[[MailServer], None] | None = None,
    *,
    worker: str | None = None,
    worker_index: int = 0,
    parent: int | None = None,
) -> None:
    """Run until SIGTERM/SIGINT; SIGHUP reloads the certificate (and the workers').
    ``worker``/``parent``: an SMTP worker process and its main process's pid."""
    # The event loop and the store's I/O threads hand the GIL back and forth on
    # every message; at the default 5 ms interval the loop is preempted mid-work
    # far more often than it needs (~160 futex calls per message). bench_smtp on
    # asyncio's loop, paired runs: 1.07x/1.24x Postfix with 20 ms against 0.95x/1.10x
    # without; on uvloop (run_loop's default) 0.2-20 ms measured the same.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    server = MailServer(config, worker=worker, worker_index=worker_index)
    ctx = server.prepare()
    # handlers first: listeners.json (written by start) tells scripts they may signal us
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, server.request_stop)
    loop.add_signal_handler(signal.SIGINT, server.request_stop)
    certs = ctx.certs

    def reload_certs() -> None:
        server.signal_workers(signal.SIGHUP)
        unreadable = unreadable_certs(certs)
        if unreadable:  # the key stayed root's after the privilege drop (privsep)
            log_event(
                "tls.reload_failed", files=unreadable, level=logging.WARNING,
                error=f"not readable by {server.config.server.user}, the service user; the "
                "loaded certificate stays (make them readable to it, or restart)",
            )  # fmt: skip
            return
        try:
            certs.reload()
            log_event("tls.reload", cert=str(certs.cert), fingerprint=certs.fingerprint)
        except Exception as exc:  # keep serving with the old certificate
            log_event("tls.reload_failed", error=str(exc))

    loop.add_signal_handler(signal.SIGHUP, reload_certs)
    await server.start()
    if on_started:
        on_started(server)
    watch = asyncio.create_task(_watch_parent(server, parent)) if parent is not None else None
    await server.wait()
    if watch is not None:
        watch.cancel()
    await server.stop()


async def _watch_parent(server: MailServer, parent: int) -> None:
    """A worker whose main process is gone (SIGKILL) stops too: it must not keep
    accepting on the ports the restarted server binds again."""
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_CHECK)
    log_event("server.parent_gone", worker=server.worker)
    server.request_stop()


def worker_main() -> None:
    """Entry point of an SMTP worker process: its spec (the main process's config, the
    SMTP listeners to share, a slot-file token) comes as JSON on stdin."""
    from mailtool.config import from_dict
    from mailtool.net.log import setup_logging

    spec = json.loads(sys.stdin.read())
    data = spec["config"]
    # the SMTP listeners to share, every other one off ([listen] proxy_from is not one)
    data["listen"] = {name: value if name == "proxy_from" else spec["listen"].get(name, False)
                      for name, value in data["listen"].items()}
    setup_logging()
    config = from_dict(data, source=spec["source"])
    try:
        run_loop(run(config, worker=spec["token"], worker_index=spec["index"],
                     parent=spec["parent"]))  # fmt: skip
    except MailtoolError as exc:  # said once, by the main process too (no traceback)
        log_event("server.worker_failed", worker=spec["token"], error=str(exc),
                  level=logging.ERROR)  # fmt: skip
        sys.exit(exc.exit_code)
