"""Connection and login bounds shared by every listener (DESIGN principle 2)."""

from __future__ import annotations

import time
from collections import defaultdict, deque


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
    """Failed-login bookkeeping per client IP, over a sliding one-minute window.

    Servers ask ``allowed(ip)`` before checking a password, and after a failure
    call ``failed(ip)`` and sleep ``delay`` seconds before answering, so guessing
    costs an attacker time (DESIGN principle 3).
    """

    WINDOW = 60.0

    def __init__(self, max_failures: int, delay: float) -> None:
        self.max_failures = max_failures
        self.delay = delay
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _prune(self, ip: str, now: float) -> deque[float]:
        q = self._failures[ip]
        while q and now - q[0] > self.WINDOW:
            q.popleft()
        return q

    def allowed(self, ip: str) -> bool:
        q = self._prune(ip, time.monotonic())
        allowed = len(q) < self.max_failures
        if not q:
            del self._failures[ip]
        return allowed

    def failed(self, ip: str) -> None:
        self._prune(ip, time.monotonic()).append(time.monotonic())

    def succeeded(self, ip: str) -> None:
        self._failures.pop(ip, None)


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    return (
        ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1") or ip.startswith("::ffff:127.")
    )
