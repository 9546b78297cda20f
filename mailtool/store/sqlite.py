"""The one way the store opens SQLite: WAL, a busy timeout, durable commits.

Writes run in ``BEGIN IMMEDIATE`` so two processes (the server and a CLI
command) serialise on the write lock instead of failing half-way with
``database is locked``; ``synchronous=FULL`` (the default) makes a returned
commit durable (DESIGN principle 1). A database whose rows can be rebuilt
from files (the mail index) may open with ``NORMAL``: WAL commits are then
atomic and survive a crash of the process, only a power loss can undo the
last ones; ``write(durable=True)`` still flushes the ones that must not be
undone. One connection per :class:`Database`, shared by threads under a lock
(servers call the store from worker threads too).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mailtool.errors import StoreError

#: how long a writer waits for another process's transaction, in milliseconds
BUSY_TIMEOUT_MS = 30_000


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process holds the file.

    Changing the journal mode needs an exclusive lock and SQLite does not call
    the busy handler for every way it can fail (another connection opening the
    same new file at the same moment): without the retry a server and a CLI
    command starting together could fail with ``database is locked``.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class Database:
    """A SQLite file with a schema applied on open (``PRAGMA user_version`` = version)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: str,
        version: int = 1,
        *,
        synchronous: str = "FULL",
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(self._conn)
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self.write() as cur:
                if cur.execute("PRAGMA user_version").fetchone()[0] < version:
                    cur.executescript_in_tx(schema)
                    cur.execute(f"PRAGMA user_version = {int(version)}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back on an exception.
        ``durable``: on disk when the block ends, whatever ``synchronous`` the file has."""
        with self._lock:
            flush = durable and self.synchronous != "FULL"
            if flush:
                self._conn.execute("PRAGMA synchronous = FULL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            finally:
                if flush:
                    self._conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one read-only statement and return all rows (a consistent snapshot)."""
        with self._lock:
            cur = self._conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Like :meth:`query` with plain tuples (no Row objects): for big listings."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None


class Transaction:
    """The cursor-ish handle a write block gets."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        cur = self._conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return cur

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    def executescript_in_tx(self, script: str) -> None:
        # executescript() would COMMIT first; run statement by statement instead
        for statement in script.split(";"):
            if statement.strip():
                self._conn.execute(statement)
