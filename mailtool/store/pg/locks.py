"""Advisory locks across serve nodes: POP3's maildrop lock on the PostgreSQL backend.

RFC 1939 §8 wants one POP3 session per maildrop; with several nodes an ``flock`` on one
machine's disk no longer says it, PostgreSQL's advisory locks do (``pg_try_advisory_lock``,
"Advisory Locks" in the manual)::

    locks = AdvisoryLocks(db)               # one per process (PgMailStore owns it)
    lock = locks.maildrop("alice@a.test")   # held AdvisoryLock, or None: [IN-USE]
    ...
    lock.release()                          # idempotent

The locks are session-level locks held by one connection of their own per process (outside
the pool, so a pooled connection never carries a lock back to the pool). Session-level
locks are re-entrant within their session, so this process's own holders are kept in a set
too: a second POP3 session on the same node is refused like one on another node. A node
that dies drops its connection and with it every lock it held.

When the lock connection is lost (a database restart), its locks are gone; the next call
connects again and takes the locks this process still holds back (a session whose lock
another node took meanwhile is logged: its UPDATE still expunges by UID, so nothing is
lost or doubled, the two sessions only see each other's deletions as -ERR).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from mailtool.errors import StoreUnavailable

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

log = logging.getLogger(__name__)

#: namespaces the lock keys, so other users of advisory locks in the database never clash
MAILDROP_PREFIX = "mailtool/pop3-maildrop/"


class AdvisoryLock:
    """One held lock of :class:`AdvisoryLocks`; :meth:`release` is idempotent."""

    def __init__(self, owner: AdvisoryLocks, name: str) -> None:
        self._owner = owner
        self.name = name
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._owner._release(self.name)

    def __repr__(self) -> str:
        return f"AdvisoryLock({self.name!r}, held={self.held})"


class AdvisoryLocks:
    """The advisory locks of one process, on one connection of their own."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        #: names this process holds (the database's lock is re-entrant per connection)
        self._held: set[str] = set()

    def maildrop(self, user: str) -> AdvisoryLock | None:
        """POP3's lock on ``user``'s maildrop; None when another session holds it.
        :class:`StoreUnavailable` when the database cannot be reached."""
        return self.try_lock(MAILDROP_PREFIX + user)

    def try_lock(self, name: str) -> AdvisoryLock | None:
        """The exclusive lock ``name`` (any string), without waiting; None when taken."""
        import psycopg

        with self._lock:
            if name in self._held:
                return None
            for attempt in (1, 2):  # once more on a fresh connection if the old one died
                conn = self._connection()
                try:
                    got = _try(conn, name)
                    break
                except psycopg.OperationalError as exc:
                    self._lost(conn)
                    if attempt == 2:
                        raise StoreUnavailable(f"advisory lock: {exc}") from None
            if not got:
                return None
            self._held.add(name)
            return AdvisoryLock(self, name)

    def _release(self, name: str) -> None:
        import psycopg

        with self._lock:
            self._held.discard(name)
            conn = self._conn
            if conn is None:
                return
            try:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))
            except psycopg.Error:  # the connection is gone, and the lock with it
                self._lost(conn)

    def _connection(self) -> psycopg.Connection[Any]:
        """The lock connection (under ``_lock``); a new one takes back what we held."""
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = self.db.connect(autocommit=True)
        for name in sorted(self._held):
            if not _try(conn, name):
                log.warning("store.pg.locks: %s was taken by another node while the "
                            "database was away", name)  # fmt: skip
        self._conn = conn
        return conn

    def _lost(self, conn: psycopg.Connection[Any]) -> None:
        with contextlib.suppress(Exception):
            conn.close()
        if self._conn is conn:
            self._conn = None

    def close(self) -> None:
        """Close the lock connection: every lock of this process is released."""
        with self._lock:
            conn, self._conn = self._conn, None
            self._held.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _try(conn: psycopg.Connection[Any], name: str) -> bool:
    # a 64-bit key from the name: two names share a lock with odds of 2^-64
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()
    return bool(row and row[0])


__all__ = ["MAILDROP_PREFIX", "AdvisoryLock", "AdvisoryLocks"]
