"""Drive a real protocol session (SMTP, IMAP, POP3, ManageSieve) on one fuzz input,
in process and without sockets.

Each input is one client connection: the service's own ``handle(conn)`` (what
the listener runs) gets a real :class:`~mailtool.net.connection.Connection` whose
transport is a buffer; the whole input arrives at once (pipelined, as a hostile
client may send it), then EOF. The handler must end by returning or with
``ConnectionClosed`` (the peer went away): anything else is what the listener
logs as ``conn.crash``, and fails the target; so does anything mailtool logs at
ERROR while the input runs (a crash caught and logged further down).

The data dir is a real one (accounts, Maildir, index, queue, Sieve scripts) in a
temporary directory, rebuilt every :data:`EPOCH` inputs so what the inputs
deliver does not pile up. To keep hundreds of sessions a second:

* the password hash is argon2id at its cheapest (the user's hash and the
  unknown-user dummy), and ``login_failure_delay`` is 0;
* STARTTLS is offered but its handshake fails (as it would on a plaintext
  input), and the password commands are allowed in the clear from 127.0.0.1
  (``plaintext_auth_on_loopback``);
* DNS answers for the port-25 checks come from :mod:`tests.fuzz.fakedns`, and
  queued mail is never relayed (no DNS, no connection leaves the process);
* ``os.fsync`` is a no-op (durability is not what is fuzzed; each costs ms), and
  the thread pools (logins, queue I/O, ``to_thread``) run their jobs inline.

The user is ``alice@example.test`` / ``secret``, with a few messages from
tests/data/mime in INBOX (delivered again every :data:`REFILL` inputs).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mailtool.config import from_dict
from mailtool.net.connection import Connection, ConnectionClosed, ConnectionProtocol
from tests.fuzz.fakedns import FakeResolver
from tests.fuzz.harness import data_files

USER, PASSWORD = "alice@example.test", "secret"
#: inputs per data dir
EPOCH = 2000
#: inputs between two deliveries of the INBOX messages
REFILL = 200
#: a session that has not ended after this long (seconds) is a hang
HANG = 10.0


def _no_fsync(fd: int) -> None:
    pass


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs the job in the calling thread (never starts one): the login pool, the queue's
    I/O pool and ``to_thread`` cost a thread hop each otherwise, most of a session's time."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a pool would
            future.set_exception(exc)
        return future


class _Errors(logging.Handler):
    """Keeps what mailtool logs at ERROR or above (a crash some layer caught and logged,
    e.g. ``queue.deliver_crash``); everything below is dropped, not printed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _tls_fails(context: Any) -> None:
    # the input is plaintext and then EOF: a real handshake would fail the same way
    raise ConnectionClosed("TLS handshake: the peer sent no ClientHello")


class BufferTransport(asyncio.Transport):
    """What the Connection writes goes to ``out``; closing tells the protocol at once."""

    def __init__(self, protocol: asyncio.Protocol, peer: str, port: int) -> None:
        super().__init__()
        self.protocol = protocol
        self.out = bytearray()
        self._closing = False
        self._extra = {"peername": (peer, 40000), "sockname": ("127.0.0.1", port)}

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self.out += data

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self.protocol.connection_lost(None)

    abort = close

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


class SessionDriver:
    """One service (``smtp``, ``submission``, ``imap``, ``pop3``, ``managesieve``) built
    from a config over a temporary data dir, and :meth:`run` to feed it one input."""

    def __init__(self, service: str, factory: Callable[..., Any], port: int) -> None:
        self.name = service
        self.factory = factory
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(InlineExecutor())
        self.inputs = 0
        self.tmp: Path | None = None
        self.service: Any = None
        self.errors = _Errors()
        self.resolver = FakeResolver([b"v=spf1 ip4:192.0.2.0/24 -all", b"v=DMARC1; p=reject"])

    def _build(self) -> None:
        from argon2 import PasswordHasher

        from mailtool.server import ServerContext
        from mailtool.store.accounts import AccountStore

        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"mailtool-fuzz-{self.name}-"))
        atexit.register(shutil.rmtree, self.tmp, True)
        config = from_dict(
            {
                "data_dir": str(self.tmp),
                "hostname": "mx.example.test",
                "security": {"plaintext_auth_on_loopback": True, "login_failure_delay": 0},
            }
        )
        # a context, so STARTTLS is offered as in production; Connection.start_tls fails
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx = ServerContext(config=config, certs=SimpleNamespace(context=tls))
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        original = AccountStore.__init__

        def cheap_store(store: AccountStore, *args: Any, **kw: Any) -> None:
            original(store, *args, **kw)
            store._hasher = cheap  # the argon2id work is not what is fuzzed here

        AccountStore.__init__ = cheap_store  # type: ignore[method-assign]
        try:
            ctx.accounts.add_domain("example.test")
            ctx.accounts.add_user(USER, PASSWORD)
        finally:
            AccountStore.__init__ = original  # type: ignore[method-assign]
        self.ctx = ctx
        self._refill()
        self.service = self.factory(ctx, self.name, "127.0.0.1", 0)
        env = getattr(self.service, "env", None)
        if env is not None:
            if env.inbound is not None:  # port 25: SPF/DKIM/DMARC answers from fakedns
                env.inbound.resolver = self.resolver
            # queued mail stays queued: no relay attempt (DNS, connections) from a fuzz run;
            # local recipients are still delivered before the 250, through Sieve
            env.intake._hand_off = lambda: None
            env.intake._pool = InlineExecutor()
        ctx.login_gate._pool = InlineExecutor()
        ctx.login_gate._processes = InlineExecutor()  # argon2 in worker processes: inline too

    def _refill(self) -> None:
        """Messages for the sessions to read (inputs delete and expunge them)."""
        for raw in data_files("mime", "0[1-5]_*.eml"):
            self.ctx.mail.user(USER).deliver(raw)

    def run(self, data: bytes, *, peer: str = "127.0.0.1") -> bytes:
        """One session on ``data``; returns what the server wrote."""
        with self._patched():
            return self._run(data, peer)

    @contextlib.contextmanager
    def _patched(self) -> Iterator[None]:
        """No fsync, and mailtool's log to :class:`_Errors`, while an input runs (the
        normal test suite runs the targets in its own process: put everything back)."""
        logger = logging.getLogger("mailtool")
        saved = os.fsync, logger.handlers, logger.propagate
        os.fsync = _no_fsync
        logger.handlers, logger.propagate = [self.errors], False
        try:
            yield
        finally:
            os.fsync, logger.handlers, logger.propagate = saved

    def _run(self, data: bytes, peer: str) -> bytes:
        if self.inputs % EPOCH == 0:
            self._build()
        elif self.inputs % REFILL == 0:
            self._refill()
        self.inputs += 1
        conn = Connection(id=f"fuzz-{self.inputs}", service=self.name)
        conn.start_tls = _tls_fails  # type: ignore[method-assign]
        self.errors.records.clear()
        self.resolver.queries = 0  # its bound is per session
        protocol = ConnectionProtocol(conn, lambda _conn: None)
        transport = BufferTransport(protocol, peer, self.port)

        async def arrive() -> None:  # as a loop calls a protocol: in the running loop
            protocol.connection_made(transport)
            if data:
                protocol.data_received(data)
            protocol.eof_received()

        self.loop.run_until_complete(arrive())
        started = time.monotonic()
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.service.handle(conn), HANG))
        except ConnectionClosed:
            pass  # the peer went away mid-command: the listener's "reset", not a bug
        except TimeoutError:
            raise AssertionError(
                f"{self.name} session still running {time.monotonic() - started:.0f} s "
                "after the input ended"
            ) from None
        finally:
            self.loop.run_until_complete(conn.close())
        for record in self.errors.records:
            detail = self.errors.format(record)
            raise AssertionError(f"{self.name} logged an error: {detail}")
        return bytes(transport.out)
