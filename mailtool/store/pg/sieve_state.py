"""What Sieve extensions remember between deliveries, in PostgreSQL: the twins of
:class:`~mailtool.store.sieve_scripts.VacationLog` (RFC 5230 §4.2) and of
:mod:`mailtool.store.sieve_state`'s DuplicateLog (RFC 7352) and NotifyLog (RFC 5435).

Every node reads and writes the same rows, so a vacation reply or a notification is
sent once per cluster, not once per node. Each decision is one transaction under a
per-user advisory lock (two nodes delivering to one user at once take turns), and
each user's rows stay within the SQLite files' bounds (entries and age).
"""

from __future__ import annotations

from typing import Any

import psycopg

from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import one
from mailtool.store.sieve_scripts import VACATION_KEEP_SECONDS, VACATION_MAX_ENTRIES
from mailtool.store.sieve_state import (
    DUPLICATE_MAX_ENTRIES,
    NOTIFY_MAX_PER_WINDOW,
    NOTIFY_WINDOW_SECONDS,
)


def user_lock(conn: psycopg.Connection[Any], kind: str, address: str) -> None:
    """Serialise ``kind`` decisions for ``address`` across nodes until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{kind}:{address}",))


def _trim(conn: psycopg.Connection[Any], table: str, column: str, address: str, keep: int) -> None:
    """Keep the ``keep`` newest rows (by ``column``) of ``address`` in ``table``."""
    conn.execute(
        f"DELETE FROM {table} WHERE address = %s AND {column} < ("  # our own table names
        f"SELECT {column} FROM {table} WHERE address = %s ORDER BY {column} DESC "
        "OFFSET %s LIMIT 1)",
        (address, address, keep - 1),
    )


class PgVacationLog:
    """RFC 5230 §4.2 response tracking: one reply per sender and handle per ``days``."""

    def __init__(self, db: Database, address: str) -> None:
        self.db = db
        self.address = address

    def should_reply(self, sender: str, handle: str, days: int, now: float) -> bool:
        """True (and the reply is recorded) unless ``sender`` had this reply within ``days``."""
        key = f"{sender.lower()} {handle}"
        with self.db.transaction() as conn:
            user_lock(conn, "vacation", self.address)
            conn.execute(
                "DELETE FROM sieve_vacation WHERE address = %s AND sent <= %s",
                (self.address, now - VACATION_KEEP_SECONDS),
            )
            row = conn.execute(
                "SELECT sent FROM sieve_vacation WHERE address = %s AND key = %s",
                (self.address, key),
            ).fetchone()
            if row is not None and now - float(row[0]) < days * 86400:
                return False
            conn.execute(
                "INSERT INTO sieve_vacation (address, key, sent) VALUES (%s, %s, %s)"
                " ON CONFLICT (address, key) DO UPDATE SET sent = EXCLUDED.sent",
                (self.address, key, now),
            )
            _trim(conn, "sieve_vacation", "sent", self.address, VACATION_MAX_ENTRIES)
            return True


class PgDuplicateLog:
    """RFC 7352 §3: has this id been seen (and not expired)? Recorded after delivery."""

    def __init__(self, db: Database, address: str) -> None:
        self.db = db
        self.address = address

    def seen(self, key: str, now: float) -> bool:
        row = one(
            self.db,
            "SELECT 1 FROM sieve_duplicate WHERE address = %s AND key = %s AND expiry > %s",
            (self.address, key, now),
        )
        return row is not None

    def record(self, key: str, expiry: float, now: float) -> None:
        with self.db.transaction() as conn:
            user_lock(conn, "duplicate", self.address)
            conn.execute(
                "DELETE FROM sieve_duplicate WHERE address = %s AND expiry <= %s",
                (self.address, now),
            )
            conn.execute(
                "INSERT INTO sieve_duplicate (address, key, expiry) VALUES (%s, %s, %s)"
                " ON CONFLICT (address, key) DO UPDATE SET expiry = EXCLUDED.expiry",
                (self.address, key, expiry),
            )
            _trim(conn, "sieve_duplicate", "expiry", self.address, DUPLICATE_MAX_ENTRIES)


class PgNotifyLog:
    """At most ``limit`` notifications per user per ``window`` seconds, cluster-wide."""

    def __init__(self, db: Database, address: str, limit: int = NOTIFY_MAX_PER_WINDOW,
                 window: float = NOTIFY_WINDOW_SECONDS) -> None:  # fmt: skip
        self.db = db
        self.address = address
        self.limit = limit
        self.window = window

    def allow(self, now: float) -> bool:
        """True (and the send is counted) while the user is under the limit."""
        with self.db.transaction() as conn:
            user_lock(conn, "notify", self.address)
            conn.execute(
                "DELETE FROM sieve_notify WHERE address = %s AND sent <= %s",
                (self.address, now - self.window),
            )
            row = conn.execute(
                "SELECT count(*) FROM sieve_notify WHERE address = %s", (self.address,)
            ).fetchone()
            if row is not None and int(row[0]) >= self.limit:
                return False
            conn.execute(
                "INSERT INTO sieve_notify (address, sent) VALUES (%s, %s)", (self.address, now)
            )
            return True
