"""Per-user state Sieve extensions keep between deliveries, next to vacation.json.

Under ``<data_dir>/sieve/<domain>/<local>/`` (:meth:`SieveScripts.user_dir`)::

    duplicate.json   RFC 7352 duplicate tracking: key -> expiry time
    notify.json      RFC 5435 notifications sent: send times (the rate limit)

Both are small JSON files rewritten whole under a lock (tmp -> fsync ->
rename, as vacation.json), bounded in entries and in age, so a flood of
distinct Message-IDs cannot grow them without end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mailtool.store.sieve_scripts import _locked, atomic_write

#: RFC 7352: tracked ids per user (the oldest expiry goes first when full)
DUPLICATE_MAX_ENTRIES = 10_000
#: RFC 5435 §3.5 / issue 18: notifications per user per window
NOTIFY_MAX_PER_WINDOW = 30
NOTIFY_WINDOW_SECONDS = 3600


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return None


class DuplicateLog:
    """RFC 7352 §3: has this id been seen (and not expired)? Recorded after delivery."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _entries(self) -> dict[str, float]:
        data = _load(self.path)
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}

    def seen(self, key: str, now: float) -> bool:
        expiry = self._entries().get(key)
        return expiry is not None and expiry > now

    def record(self, key: str, expiry: float, now: float) -> None:
        with _locked(self.path.with_suffix(".lock")):
            data = {k: t for k, t in self._entries().items() if t > now}
            data[key] = expiry
            if len(data) > DUPLICATE_MAX_ENTRIES:
                data = dict(sorted(data.items(), key=lambda kv: kv[1])[-DUPLICATE_MAX_ENTRIES:])
            atomic_write(self.path, json.dumps(data).encode())


class NotifyLog:
    """At most :data:`NOTIFY_MAX_PER_WINDOW` notifications per user per window."""

    def __init__(self, path: Path, limit: int = NOTIFY_MAX_PER_WINDOW,
                 window: float = NOTIFY_WINDOW_SECONDS) -> None:  # fmt: skip
        self.path = path
        self.limit = limit
        self.window = window

    def allow(self, now: float) -> bool:
        """True (and the send is counted) while the user is under the limit."""
        with _locked(self.path.with_suffix(".lock")):
            data = _load(self.path)
            sent = [float(t) for t in data if isinstance(t, int | float)] if isinstance(
                data, list) else []  # fmt: skip
            sent = [t for t in sent if now - t < self.window]
            if len(sent) >= self.limit:
                return False
            atomic_write(self.path, json.dumps([*sent, now]).encode())
            return True
