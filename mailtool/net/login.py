"""The one way every protocol checks a password: :class:`LoginGate`.

Why: a password check is CPU work (argon2id: ~0.1 s and 64 MiB; PBKDF2 when SCRAM
keys are remade; the same work for unknown users, so timing does not tell who
exists). On the event loop it stalls every other session of the process (issue
15: thirty parallel ``AUTH PLAIN`` made an unrelated IMAP ``NOOP`` wait 10 s).
And a throttle asked before an ``await`` and told after it can be passed by
fifty parallel guesses. So, for SMTP AUTH, IMAP LOGIN/AUTHENTICATE, POP3
USER/PASS/AUTH and ManageSieve AUTHENTICATE alike:

* every step that may check a password (the SASL mechanism's ``step``, which
  calls the store's ``verify_password`` / ``scram_credentials``) runs in a
  bounded thread pool (``[security] auth_workers``; argon2 and hashlib let go of
  the GIL), never on the loop; the threads run at a lower CPU priority than the
  loop, so connected sessions stay served while logins queue;
* the argon2id computation itself goes one step further, to as many worker
  *processes* (:meth:`LoginGate.offload`, wired by the server into the account
  store): libsodium maps and unmaps its 64 MiB at every check, and in a thread
  of the server's own process that stalls the event loop's page faults behind
  the unmapping (measured on 2 loaded cores: an IMAP NOOP waited 0.26-0.33 s
  during 30 parallel logins with the checks in threads, 0.06 s with them in
  processes; PBKDF2, which allocates nothing, is harmless in a thread);
* one IP has at most ``max_auth_in_progress_per_ip`` checks running, its other
  logins wait their turn; at most ``max_auth_queue`` logins wait or run in all,
  past that a login is refused at once with a temporary failure
  (:class:`LoginRefused`, ``reason="busy"``);
* the throttle (:class:`~mailtool.net.limits.LoginThrottle`) is asked and told
  in one step, in the thread, when the account is known (the mechanism names it)
  and before the password is checked: an attempt past the per-(IP, account) or
  per-IP failure budget is refused without a check (``reason="throttled"``,
  after ``login_failure_delay``); a failure waits ``login_failure_delay`` before
  the protocol answers.

Use (the protocol keeps its own wire format and replies)::

    try:
        async with gate.attempt(peer_ip) as attempt:
            mech = attempt.mechanism(name, accounts)        # or check_password() for LOGIN
            out = await attempt.step(mech, initial)
            while not isinstance(out, sasl.Done):
                ...send challenge, read response...
                out = await attempt.step(mech, response)
            if not await attempt.accept(out):               # counted, delay waited
                ...reply "not authorized"...
                return
    except LoginRefused as exc:                             # nothing was checked
        ...temporary failure: SMTP 454 4.7.0, IMAP NO [UNAVAILABLE],
           POP3 -ERR [SYS/TEMP], ManageSieve NO (TRYLATER)...
    except sasl.SaslAuthFailed:                             # counted, delay already waited
        ...authentication failed...

An attempt that ends without :meth:`LoginAttempt.succeeded` after its account was
looked up (the client went away mid-SCRAM, sent garbage after the lookup) counts
as a failure. One gate per process (:class:`mailtool.server.ServerContext`);
SMTP worker processes (``smtp_workers``) serve port 25 only, where no password is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from mailtool.net.limits import LoginThrottle
from mailtool.protocol.sasl import (
    DEFAULT_ITERATIONS,
    Done,
    SaslAuthFailed,
    ServerMechanism,
    server_mechanism,
)

T = TypeVar("T")

#: ``auth_workers = 0``: one thread per CPU, at most this many (each argon2id check
#: holds 64 MiB while it runs)
AUTO_WORKERS_MAX = 4
#: how much nicer (Linux ``setpriority`` per thread) the password threads are than
#: the event loop: under a login flood the scheduler still runs the loop first
WORKER_NICENESS = 10
#: longest account name the throttle keys on (longer names are cut)
MAX_ACCOUNT_KEY = 320

BUSY = "busy"
THROTTLED = "throttled"


class LoginRefused(Exception):
    """The login was not checked and may be tried again later: ``reason`` is
    ``"busy"`` (the queue of logins is full) or ``"throttled"`` (this IP, or this
    IP for this account, failed too often in the last minute)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Throttled(Exception):
    """Raised in a worker thread when the throttle gives no place (becomes LoginRefused)."""


def _account_key(name: str) -> str:
    return name.strip().lower()[:MAX_ACCOUNT_KEY]


def _lower_priority() -> None:
    """Pool thread initializer: a nicer thread than the loop (Linux: per thread)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


class LoginGate:
    """Bounded, throttled password checks for every protocol of one process (see
    the module docstring). ``throttle`` is the failure bookkeeping; ``workers``
    the pool size; ``per_ip`` the checks one IP may have running at once;
    ``max_queue`` the logins waiting or running in all."""

    def __init__(
        self,
        throttle: LoginThrottle,
        *,
        workers: int = 0,
        per_ip: int = 2,
        max_queue: int = 256,
    ) -> None:
        self.throttle = throttle
        self.workers = workers or min(AUTO_WORKERS_MAX, os.cpu_count() or 1)
        self.per_ip = per_ip
        self.max_queue = max_queue
        self.queued = 0  # logins waiting for or in a password check
        self._ip_slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._processes: ProcessPoolExecutor | None = None
        self._processes_lock = threading.Lock()

    @classmethod
    def from_config(cls, security: Any) -> LoginGate:
        """From ``[security]`` (:class:`mailtool.config.SecurityConfig`)."""
        throttle = LoginThrottle(
            security.max_login_failures_per_ip,
            security.login_failure_delay,
            max_failures_per_account=security.max_login_failures_per_account,
        )
        return cls(
            throttle,
            workers=security.auth_workers,
            per_ip=security.max_auth_in_progress_per_ip,
            max_queue=security.max_auth_queue,
        )

    @property
    def delay(self) -> float:
        return self.throttle.delay

    def attempt(self, ip: str) -> LoginAttempt:
        """One login attempt from ``ip``: use it as ``async with``."""
        return LoginAttempt(self, ip)

    def close(self) -> None:
        """Stop the threads and processes (queued checks are dropped); at server stop."""
        pools: list[Executor | None] = [self._pool, self._processes]
        self._pool = self._processes = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def offload(self, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` (a module-level function, its arguments and result picklable) made to
        run in one of the gate's ``workers`` processes, for the gate's threads to call:
        each thread waits for its own call, so at most ``workers`` run at once. A pool
        broken by a killed process is replaced; that call runs in the thread."""

        def in_process(*args: Any) -> T:
            pool = self._process_pool()
            try:
                return pool.submit(fn, *args).result()
            except BrokenProcessPool:
                with self._processes_lock:
                    if self._processes is pool:
                        self._processes = None
                pool.shutdown(wait=False, cancel_futures=True)
                return fn(*args)

        return in_process

    def _process_pool(self) -> ProcessPoolExecutor:
        with self._processes_lock:
            if self._processes is None:
                # spawn: fresh interpreters that inherit no listening socket, no loop
                self._processes = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                )
            return self._processes

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix="auth", initializer=_lower_priority
            )
        return self._pool

    async def run(self, ip: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the pool, after this IP's turn comes; LoginRefused("busy")
        at once when ``max_queue`` logins are already waiting or running."""
        if self.queued >= self.max_queue:
            raise LoginRefused(BUSY)
        self.queued += 1
        slot, users = self._ip_slots.get(ip) or (asyncio.Semaphore(self.per_ip), 0)
        self._ip_slots[ip] = (slot, users + 1)
        try:
            async with slot:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor(), fn, *args)
        finally:
            self.queued -= 1
            slot, users = self._ip_slots[ip]
            if users <= 1:
                del self._ip_slots[ip]
            else:
                self._ip_slots[ip] = (slot, users - 1)


class LoginAttempt:
    """One login from one IP, from the first SASL step to the answer; see the
    module docstring. Holds at most one throttle place, for the account the
    mechanism named, until the attempt is settled."""

    def __init__(self, gate: LoginGate, ip: str) -> None:
        self.gate = gate
        self.ip = ip
        #: the throttle key of the account being checked (set in the worker thread)
        self.account: str | None = None
        self._settled = False

    async def __aenter__(self) -> LoginAttempt:
        # the cheap early answer: an IP over its budget does not even start an exchange
        if not self.gate.throttle.allowed(self.ip):
            await asyncio.sleep(self.gate.delay)
            raise LoginRefused(THROTTLED)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.account is not None and not self._settled:
            self._settle(ok=False)  # looked up, never finished: a failed guess

    # ---- the callbacks the mechanism calls, in the worker thread

    def _guard(self, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn(username, ...)`` once the throttle gave this attempt a place."""

        def guarded(username: str, *args: Any) -> T:
            if self.account is None:
                account = _account_key(username)
                if not self.gate.throttle.reserve(self.ip, account):
                    raise _Throttled
                self.account = account
            return fn(username, *args)

        return guarded

    def mechanism(self, name: str, accounts: Any) -> ServerMechanism:
        """The server half of SASL mechanism ``name`` checking against ``accounts``
        (``verify_password``, ``scram_credentials`` and, if it has them,
        ``scram_mock_salt`` and ``scram_iterations``: what unknown users are shown)
        through this attempt. SaslUnsupported for an unknown name."""
        return server_mechanism(
            name,
            verify=self._guard(accounts.verify_password),
            lookup=self._guard(accounts.scram_credentials),
            mock_salt=getattr(accounts, "scram_mock_salt", None),
            mock_iterations=getattr(accounts, "scram_iterations", DEFAULT_ITERATIONS),
        )

    # ---- on the event loop

    async def step(self, mech: ServerMechanism, response: bytes | None) -> bytes | Done:
        """``mech.step(response)`` in the pool. SaslAuthFailed is counted and raised
        after the failure delay; LoginRefused when the gate would not check."""
        return await self._run(mech.step, response)

    async def check_password(
        self, verify: Callable[[str, str], bool], username: str, password: str
    ) -> None:
        """IMAP LOGIN, POP3 USER/PASS: ``verify(username, password)`` in the pool;
        SaslAuthFailed (counted, after the delay) when it says no."""
        if not await self._run(self._guard(verify), username, password):
            await self.failed()
            raise SaslAuthFailed(f"invalid credentials for {username[:64]!r}")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self.gate.run(self.ip, fn, *args)
        except _Throttled:
            await asyncio.sleep(self.gate.delay)
            raise LoginRefused(THROTTLED) from None
        except SaslAuthFailed:
            await self.failed()
            raise

    async def failed(self) -> None:
        """The attempt failed (wrong password, or a proof for an identity it may not
        use): count it and wait ``login_failure_delay`` before the answer."""
        if self.account is None:
            self.account = ""  # failed before naming an account: counts for the IP
            self.gate.throttle.failed(self.ip)
            self._settled = True
        else:
            self._settle(ok=False)
        await asyncio.sleep(self.gate.delay)

    async def accept(self, done: Done) -> bool:
        """The exchange ended in ``done``: True, and the attempt succeeded, unless it
        asks to act as another identity (``authzid``), which nobody may here (RFC 4422
        §3.4.1 leaves the policy to the server); then False, counted as a failure
        after the delay."""
        if done.authzid and done.authzid.lower() != done.authcid.lower():
            await self.failed()
            return False
        self.succeeded()
        return True

    def succeeded(self) -> None:
        """The login is accepted: clear this account's failures from this IP."""
        if self.account is not None:
            self._settle(ok=True)

    def _settle(self, *, ok: bool) -> None:
        if not self._settled and self.account is not None:
            self._settled = True
            self.gate.throttle.release(self.ip, self.account, ok=ok)


__all__ = ["BUSY", "THROTTLED", "LoginAttempt", "LoginGate", "LoginRefused"]
