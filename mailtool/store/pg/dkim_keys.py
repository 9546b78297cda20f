"""DKIM signing keys in PostgreSQL (table ``dkim_keys``, 005_shared.sql): the twin of
:class:`mailtool.store.dkim_keys.DkimKeyFiles`, so every node signs with the same keys.

The private key is a row readable by the database role mailtool uses, as the key file is
by the mailtool user: protect the database (and its backups) as you would that file.
"""

from __future__ import annotations

import time

from mailtool.errors import AlreadyExists
from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import rows


class PgDkimKeys:
    """Every domain's DKIM keys in one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"PgDkimKeys({self.db!r})"

    def add(self, domain: str, selector: str, private_pem: bytes, record: str) -> None:
        """Store a new key; an existing selector is refused (keys are never replaced)."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO dkim_keys (domain, selector, private_pem, record, created)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (domain, selector, private_pem, record, time.time()),
            )
            if cur.rowcount == 0:
                raise AlreadyExists(
                    f"{selector}._domainkey.{domain} exists: pick another selector "
                    "(keys are never replaced)"
                )

    def private_keys(self, domain: str) -> list[tuple[str, bytes]]:
        """``(selector, PEM)`` of every key of ``domain``, by selector."""
        found = rows(
            self.db,
            "SELECT selector, private_pem FROM dkim_keys WHERE domain = %s ORDER BY selector",
            (domain,),
        )
        return [(str(selector), bytes(pem)) for selector, pem in found]

    def domains(self) -> list[str]:
        """The domains that have at least one key."""
        return [r[0] for r in rows(self.db, "SELECT DISTINCT domain FROM dkim_keys ORDER BY 1")]


__all__ = ["PgDkimKeys"]
