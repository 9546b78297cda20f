"""Connection and login bounds shared by every listener (DESIGN principle 2)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Protocol, TypeVar

K = TypeVar("K")


class Limiter(Protocol):
    """What a listener asks before serving a connection: :class:`ConnectionLimiter`,
    or :class:`~mailtool.net.shared_limiter.SharedConnectionLimiter` for a port that
    several processes serve."""

    total: int
    per_ip: int

    def acquire(self, ip: str) -> bool: ...
    def release(self, ip: str) -> None: ...


class ConnectionLimiter:
    """Counts open connections in total and per client IP.

    ``acquire`` says whether one more may be served; every successful
    ``acquire`` must be paired with one ``release``.
    """

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self.open = 0
        self._by_ip: dict[str, int] = defaultdict(int)

    def acquire(self, ip: str) -> bool:
        if self.open >= self.total or self._by_ip[ip] >= self.per_ip:
            return False
        self.open += 1
        self._by_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self.open -= 1
        self._by_ip[ip] -= 1
        if self._by_ip[ip] <= 0:
            del self._by_ip[ip]


class LoginThrottle:
    """Failed-login bookkeeping per (client IP, account) and per IP, over a sliding
    one-minute window (DESIGN principle 3).

    An attempt is counted *before* its password is checked: :meth:`reserve` says
    whether one more may be checked, counting the checks already under way as
    failures-to-be, and takes a place in one step (under a lock: it is called from
    the password-check threads), so fifty parallel guesses cannot all pass a
    check made before any of them is recorded. :meth:`release` settles it: a
    failure is recorded for the pair and for the IP; a success clears that
    pair's failures only, never another account's nor the IP's spraying count
    of other accounts. :class:`mailtool.net.login.LoginGate` drives this for
    every protocol; ``delay`` is the pause before a failure is answered.
    """

    WINDOW = 60.0

    def __init__(
        self, max_failures: int, delay: float, *, max_failures_per_account: int | None = None
    ) -> None:
        self.max_failures = max_failures  # per IP, across accounts
        self.max_account_failures = min(max_failures_per_account or max_failures, max_failures)
        self.delay = delay
        self._lock = threading.Lock()
        #: ip -> times of failures, each with the account it was for
        self._failures: dict[str, deque[tuple[float, str]]] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._pending_ip: dict[str, int] = {}
        self._swept = time.monotonic()

    def _recent(self, ip: str, now: float) -> deque[tuple[float, str]] | None:
        q = self._failures.get(ip)
        if q is None:
            return None
        while q and now - q[0][0] > self.WINDOW:
            q.popleft()
        if not q:
            del self._failures[ip]
            return None
        return q

    def _sweep(self, now: float) -> None:
        """Forget IPs whose failures are all older than the window (once per window),
        so the tables hold only the last minute's attackers."""
        if now - self._swept < self.WINDOW:
            return
        self._swept = now
        for ip in [ip for ip, q in self._failures.items() if now - q[-1][0] > self.WINDOW]:
            del self._failures[ip]

    def _counts(self, ip: str, account: str | None, now: float) -> tuple[int, int]:
        q = self._recent(ip, now)
        ip_count = (len(q) if q else 0) + self._pending_ip.get(ip, 0)
        if account is None:
            return ip_count, 0
        mine = sum(1 for _, a in q if a == account) if q else 0
        return ip_count, mine + self._pending.get((ip, account), 0)

    def allowed(self, ip: str, account: str | None = None) -> bool:
        """Whether an attempt (for ``account``, if known yet) may go on; takes no place."""
        with self._lock:
            ip_count, mine = self._counts(ip, account, time.monotonic())
            return ip_count < self.max_failures and mine < self.max_account_failures

    def reserve(self, ip: str, account: str) -> bool:
        """Take a place for one password check of ``account`` from ``ip``, or say no.
        Every True must be settled by one :meth:`release`."""
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            ip_count, mine = self._counts(ip, account, now)
            if ip_count >= self.max_failures or mine >= self.max_account_failures:
                return False
            self._pending[ip, account] = self._pending.get((ip, account), 0) + 1
            self._pending_ip[ip] = self._pending_ip.get(ip, 0) + 1
            return True

    def release(self, ip: str, account: str, *, ok: bool) -> None:
        """Settle a :meth:`reserve`: record a failure, or clear the pair's failures."""
        with self._lock:
            _decrement(self._pending, (ip, account))
            _decrement(self._pending_ip, ip)
            self._settle(ip, account, ok)

    def _settle(self, ip: str, account: str, ok: bool) -> None:
        now = time.monotonic()
        q = self._recent(ip, now)
        if not ok:
            if q is None:
                q = self._failures[ip] = deque()
            q.append((now, account))
        elif q is not None:
            kept = deque(e for e in q if e[1] != account)
            if kept:
                self._failures[ip] = kept
            else:
                del self._failures[ip]

    def failed(self, ip: str, account: str = "") -> None:
        """Record a failure that took no place with :meth:`reserve`."""
        with self._lock:
            self._settle(ip, account, False)

    def succeeded(self, ip: str, account: str = "") -> None:
        """Clear ``account``'s failures from ``ip`` (only that account's)."""
        with self._lock:
            self._settle(ip, account, True)


def _decrement(table: dict[K, int], key: K) -> None:
    left = table.get(key, 0) - 1
    if left > 0:
        table[key] = left
    else:
        table.pop(key, None)


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    return (
        ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1") or ip.startswith("::ffff:127.")
    )
