"""An in-process SMTP server (the real listeners and sessions, fake stores) on
127.0.0.1 port 0, its event loop in a thread so blocking clients can drive it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mailtool import config as config_mod
from mailtool.net.tls import CertStore
from mailtool.server import ServerContext
from mailtool.store.backends import Stores
from mailtool.store.queue import Queue
from tests.mta.fakes import FakeAccounts, FakeMail

KINDS = ("smtp", "submission", "submissions")

_refuser: str | None = None


def refusing_resolver() -> str:
    """``HOST:PORT`` of a UDP resolver that answers every query REFUSED at once (started
    once per process). Remote domains then defer with 4.4.3 as with an unreachable
    resolver, without waiting out the resolver's lifetime on each SPF or MX lookup (a
    closed port made every DATA of these tests take ~11 s)."""
    global _refuser
    if _refuser is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))

        def answer() -> None:
            while True:
                query, peer = sock.recvfrom(4096)
                if len(query) < 12:
                    continue
                end = 12  # the question: labels up to the root, then type and class
                while end < len(query) and query[end]:
                    end += query[end] + 1
                header = query[:2] + bytes([0x80 | (query[2] & 0x01), 0x80 | 5])
                sock.sendto(header + query[4:6] + bytes(6) + query[12 : end + 5], peer)

        threading.Thread(target=answer, name="dns-refuser", daemon=True).start()
        _refuser = f"127.0.0.1:{sock.getsockname()[1]}"
    return _refuser


class InProcessSMTP:
    def __init__(self, tmp_path: Path, overrides: dict[str, Any], queue_url: str = "") -> None:
        data = {
            "data_dir": str(tmp_path / "data"),
            "hostname": "mail.test",
            "security": {"login_failure_delay": 0.0, "max_login_failures_per_ip": 3},
            # the relay must not ask the system's resolver (tests talk to loopback only):
            # this one refuses every query, so remote recipients are deferred with 4.4.3
            "dns": {"nameservers": [refusing_resolver()]},
        }
        for key, value in overrides.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        self.config = config_mod.from_dict(data)
        (tmp_path / "data").mkdir(parents=True, exist_ok=True)
        self.accounts = FakeAccounts(tmp_path / "mail")
        # the real queue of either backend (queue_url: a PostgreSQL database, emptied)
        self.queue: Any = pg_queue(queue_url) if queue_url else Queue(tmp_path / "data" / "queue")
        #: where DATA over [limits] spool_threshold is written as it arrives (either backend)
        self.spool_dir = self.config.data_path / "queue" / "tmp"
        self.enqueued: list[str] = []
        self.fail_writes = False
        real_enqueue = self.queue.enqueue

        def enqueue(*args: Any, **kwargs: Any) -> Any:
            if self.fail_writes:
                raise OSError(28, "No space left on device")
            entry = real_enqueue(*args, **kwargs)
            self.enqueued.append(entry.id)
            return entry

        self.queue.enqueue = enqueue  # type: ignore[method-assign]
        self.mail = FakeMail()
        self.accounts.add_user("alice@local.test", "alice-pw")
        self.accounts.add_user("bob@local.test", "bob-pw")
        self.accounts.add_user("carol@local.test", "carol-pw")
        self.accounts.aliases["team@local.test"] = ["alice@local.test", "bob@local.test"]
        self.accounts.aliases["ally@local.test"] = ["alice@local.test"]
        self.accounts.users["postmaster@mail.test"] = "x"
        self.accounts.domains.add("mail.test")
        certs = CertStore.open("", "", tmp_path / "data" / "tls", "mail.test")
        # the server's context with the stores replaced by the fakes
        # (Sieve scripts, DKIM keys and the relay's caches: the data dir's real ones)
        real = self.real_stores = Stores(self.config)
        fakes = SimpleNamespace(accounts=self.accounts, queue=self.queue, mail=self.mail,
                                sieve_scripts=real.sieve_scripts, dkim_keys=real.dkim_keys,
                                mtasts_cache=real.mtasts_cache, tlsrpt_log=real.tlsrpt_log)
        self.ctx = ServerContext(config=self.config, certs=certs, store_services=fakes)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.ports: dict[str, int] = {}
        self.services: dict[str, Any] = {}
        self.tasks: list[asyncio.Task[Any]] = []

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> InProcessSMTP:
        from mailtool.mta.service import create

        self.thread.start()
        for kind in KINDS:
            service = create(self.ctx, kind, "127.0.0.1", 0)
            self.services[kind] = service
            self.ports[kind] = self.call(service.start())[1]

        async def background() -> None:
            for factory in self.ctx._background:
                self.tasks.append(asyncio.create_task(factory()))

        self.call(background())
        return self

    def stop(self) -> None:
        async def stop_all() -> None:
            for service in self.services.values():
                await service.stop(1.0)
            for task in self.tasks:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        self.call(stop_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if hasattr(self.queue, "db"):
            self.queue.db.close()
        self.real_stores.close()

    # ---------------------------------------------------------------- helpers

    def wait_delivered(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(len(v) for v in self.mail.boxes.values()) >= count:
                return
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, have {self.mail.boxes.keys()}")

    def wait_queue_empty(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.queue.ids() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.queue.ids() == []

    def raw(self, kind: str = "smtp", tls: bool = False) -> RawClient:
        return RawClient(self.ports[kind], tls=tls)


class RawClient:
    """A socket speaking bytes, for what smtplib will not send (bare LF, pipelining)."""

    def __init__(self, port: int, *, tls: bool = False) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            sock = client_tls().wrap_socket(sock, server_hostname="mail.test")
        self.sock = sock
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; buffer {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self) -> bytes:
        """One whole (multi-line) reply."""
        out = b""
        while True:
            line = self.line()
            out += line
            if line[3:4] != b"-":
                return out

    def cmd(self, text: str | bytes) -> bytes:
        self.send((text.encode() if isinstance(text, str) else text) + b"\r\n")
        return self.reply()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pg_queue(url: str) -> Any:
    """A PgQueue on the module's database, emptied (one database per module: fast)."""
    from mailtool.store.pg.db import Database
    from mailtool.store.pg.queue import PgQueue

    db = Database(url, pool_size=4, connect_timeout=5)
    with db.transaction() as conn:
        conn.execute("DELETE FROM queue_entry")
    return PgQueue(db)


@pytest.fixture(scope="module")
def queue_database(postgres_cluster: Any) -> str:
    """One database with the schema for a module's in-process servers on PostgreSQL."""
    from mailtool.store.pg import schema
    from mailtool.store.pg.db import Database

    url = str(postgres_cluster.create_database())
    db = Database(url, pool_size=1)
    schema.init(db)
    db.close()
    return url


@pytest.fixture
def smtp_server(
    tmp_path: Path, store_backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., InProcessSMTP]]:
    """Factory: ``smtp_server(limits={...}, security={...})`` -> a started server."""
    started: list[InProcessSMTP] = []

    def start(**overrides: Any) -> InProcessSMTP:
        url = request.getfixturevalue("queue_database") if store_backend == "postgresql" else ""
        server = InProcessSMTP(tmp_path / f"s{len(started)}", overrides, url).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
