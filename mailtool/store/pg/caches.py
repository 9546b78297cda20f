"""The MTA's outbound caches in PostgreSQL (005_shared.sql): the twins of
:class:`mailtool.store.caches.PolicyFiles` (MTA-STS policies, RFC 8461 §5) and
:class:`~mailtool.store.caches.ReportFiles` (TLS-RPT attempts, RFC 8460), so a policy
one node fetched protects every node's deliveries and one report covers the cluster.

Bounds: one policy row per domain we send to (as the files); a day's attempts are
deleted once that day is reported (the report holds what they said), so the table holds
about a day of connection attempts.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import exists, one, rows


class PgPolicyCache:
    """MTA-STS policies by domain."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, domain: str) -> dict[str, Any] | None:
        row = one(self.db, "SELECT policy FROM mta_sts_policies WHERE domain = %s", (domain,))
        return row[0] if row and isinstance(row[0], dict) else None

    def save(self, domain: str, policy: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO mta_sts_policies (domain, policy) VALUES (%s, %s)"
                " ON CONFLICT (domain) DO UPDATE SET policy = EXCLUDED.policy",
                (domain, Jsonb(policy)),
            )


class PgReportLog:
    """TLS attempts by UTC day, and the days reported, for every node."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, day: str, record: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO tlsrpt_attempts (day, attempt) VALUES (%s, %s)", (day, Jsonb(record))
            )

    def records(self, day: str) -> list[dict[str, Any]]:
        found = rows(self.db, "SELECT attempt FROM tlsrpt_attempts WHERE day = %s ORDER BY id",
                     (day,))  # fmt: skip
        return [r[0] for r in found if isinstance(r[0], dict)]

    def days(self) -> list[str]:
        """The days with attempts not reported yet, oldest first."""
        found = rows(
            self.db,
            "SELECT DISTINCT day FROM tlsrpt_attempts WHERE day NOT IN"
            " (SELECT day FROM tlsrpt_sent) ORDER BY day",
        )
        return [r[0] for r in found]

    def sent(self, day: str) -> bool:
        return exists(self.db, "SELECT 1 FROM tlsrpt_sent WHERE day = %s", (day,))

    def mark_sent(self, day: str) -> None:
        """Record ``day`` as reported and drop its attempts (the report has them)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO tlsrpt_sent (day) VALUES (%s) ON CONFLICT DO NOTHING",
                         (day,))  # fmt: skip
            conn.execute("DELETE FROM tlsrpt_attempts WHERE day = %s", (day,))
