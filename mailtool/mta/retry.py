"""When a deferred recipient is tried again, and when the queue gives up on it.

RFC 5321 §4.5.4.1: retries should wait at least 30 minutes and a message
should be given up after 4-5 days. The schedule here is exponential —
``retry_first``, then each wait ``retry_factor`` times the last, never more than
``retry_max`` — and everything comes from the ``[queue]`` config section so
tests can run a whole retry cycle in seconds. Pure functions of the attempt
count and clock, so the runner, ``mailtool queue`` and the tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailtool.config import QueueConfig


@dataclass(frozen=True)
class RetryPolicy:
    """The ``[queue]`` settings as a schedule."""

    first: float
    factor: float
    maximum: float
    lifetime: float
    warn_after: float

    @classmethod
    def from_config(cls, cfg: QueueConfig) -> RetryPolicy:
        return cls(
            cfg.retry_first, cfg.retry_factor, cfg.retry_max, cfg.max_lifetime, cfg.delay_warning
        )

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try (1 = the first failure)."""
        exponent = max(attempts - 1, 0)
        # cap the exponent before raising: factor**1000 overflows a float
        wait = self.first
        for _ in range(exponent):
            wait *= self.factor
            if wait >= self.maximum:
                return self.maximum
        return min(wait, self.maximum)

    def expired(self, created: float, now: float) -> bool:
        """The message has been queued longer than ``max_lifetime``: bounce (4.4.7)."""
        return now - created >= self.lifetime

    def next_attempt(self, created: float, attempts: int, now: float) -> float | None:
        """When to try again after the ``attempts``-th failure; None: give up now.

        A retry that would fall after the end of the lifetime is moved to the
        end of it, so the last try happens right when the message expires.
        """
        if self.expired(created, now):
            return None
        return min(now + self.delay(attempts), created + self.lifetime)

    def warning_due(self, created: float, now: float, already_warned: bool) -> bool:
        """One delay notice per message, once it has waited ``delay_warning`` seconds."""
        return bool(self.warn_after) and not already_warned and now - created >= self.warn_after
