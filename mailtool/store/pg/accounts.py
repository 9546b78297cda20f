"""Domains, users and aliases in PostgreSQL: the twin of
:class:`mailtool.store.accounts.AccountStore` for ``[store] url = "postgresql://..."``.

Same methods, arguments, answers and errors; the rules (alias resolution, password and
SCRAM checks, the lookup cache) are :class:`~mailtool.store.account_rules.AccountRules`',
shared with the SQLite store. What differs:

* No Maildir: a user's mail is the mail store's (``PgMailStore`` makes its folders at
  the user's first use). There is no ``maildir_path``. ``remove_user(purge=True)``
  deletes the mail and the METADATA entries in the transaction that removes the user
  (:func:`mailtool.store.pg.mailstore.purge_mail`); without purge they stay, as the
  Maildir does on SQLite.
* The lookup cache (resolve, get_user, is_local_domain; never passwords) is checked
  against ``account_changes.version``, a counter every write to domains / users /
  aliases bumps (statement triggers, 002_accounts.sql): a change committed by any node
  is seen by every node's next lookup, as SQLite's ``PRAGMA data_version`` does for
  processes. Staleness bound: none beyond one lookup's round trip.
* The SCRAM mock-salt secret is the ``cluster_secret`` row ``scram-mock`` (made once by
  whichever node asks first), so every node shows an unknown user the same salt.
* Migration (``mailtool store migrate``): :meth:`import_user` writes a user with the
  hash and SCRAM keys it already has (never re-hashed).

Every database failure surfaces as :class:`~mailtool.errors.StoreUnavailable`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.protocol.sasl import DEFAULT_ITERATIONS, ScramCredentials
from mailtool.store import address as addr
from mailtool.store.account_rules import (
    CACHE_ENTRIES,
    MOCK_KEY_BYTES,
    UNLIMITED,
    AccountRules,
    Alias,
    Quota,
    User,
    alias_source,
    check_hash,
    check_quota,
    delete_domain,
    hash_password,
    make_hasher,
    missing_domain,
    user_key,
)
from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import one, rows

#: the cluster_secret row of the SCRAM mock-salt key
MOCK_SECRET = "scram-mock"

Connection = psycopg.Connection[Any]

def cluster_secret(db: Database, name: str, size: int = MOCK_KEY_BYTES) -> bytes:
    """The random secret ``name`` every node shares, made by the first that asks."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO cluster_secret (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (name, secrets.token_bytes(size)),
        )
        row = conn.execute("SELECT value FROM cluster_secret WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return bytes(row[0])[:size]


class PgAccountStore(AccountRules):
    """PostgreSQL implementation of :class:`mailtool.store.accounts.Accounts`."""

    def __init__(self, db: Database, *, scram_iterations: int = DEFAULT_ITERATIONS) -> None:
        self.db = db
        self.scram_iterations = scram_iterations  # [security] scram_iterations
        self._hasher = make_hasher()
        self.check_hash: Callable[[str, str], bool] = check_hash
        self._dummy_hash: str | None = None
        self._mock_key: bytes | None = None
        self._cache: dict[tuple[str, str], object] = {}
        self._version: int | None = None

    def __repr__(self) -> str:
        return f"PgAccountStore({self.db!r})"

    def close(self) -> None:
        """Nothing of its own to close: the pool is the Stores' (``Stores.close``)."""

    # ------------------------------------------------------------------ primitives

    def _lookups(self) -> dict[tuple[str, str], object]:
        row = one(self.db, "SELECT version FROM account_changes WHERE id = 1")
        version = int(row[0]) if row else None
        if version != self._version:
            self._version, self._cache = version, {}
        elif len(self._cache) >= CACHE_ENTRIES:
            self._cache = {}
        return self._cache

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Sequence[Any]]:
        return rows(self.db, pg_sql(sql), params)

    def _run(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            with self.db.transaction() as conn:
                return int(conn.execute(pg_sql(sql), params).rowcount)  # type: ignore[arg-type]
        except psycopg.Error as exc:  # not a lost connection (StoreUnavailable): a refusal
            raise StoreError(f"{self.db!r}: {str(exc).strip()}") from None

    def _mock_secret(self) -> bytes:
        return cluster_secret(self.db, MOCK_SECRET)

    # ------------------------------------------------------------------ domains

    def add_domain(self, domain: str) -> str:
        name = addr.normalize_domain(domain)
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO domains (name, created) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (name, time.time()),
            )
            if cur.rowcount == 0:
                raise AlreadyExists(f"domain {name} exists already")
        return name

    def remove_domain(self, domain: str, *, force: bool = False) -> None:
        """Remove a domain; with users or aliases only when ``force`` (their mail is kept)."""
        name = addr.normalize_domain(domain)
        with self.db.transaction() as conn:
            conn.execute("SELECT 1 FROM domains WHERE name = %s FOR UPDATE", (name,))
            delete_domain(lambda sql, params: conn.execute(pg_sql(sql), params), name, force)

    @staticmethod
    def _require_domain(conn: Connection, domain: str) -> None:
        # FOR SHARE: a domain removed by another node meanwhile waits for this transaction
        if not conn.execute(
            "SELECT 1 FROM domains WHERE name = %s FOR SHARE", (domain,)
        ).fetchone():
            raise missing_domain(domain)

    # ------------------------------------------------------------------ users

    def add_user(self, address: str, password: str, *, quota: Quota = UNLIMITED) -> User:
        """Create a user (the mail store makes its folders at its first use)."""
        key, _local, domain = user_key(address)
        hashed, scram = hash_password(self._hasher, password, self.scram_iterations)
        return self._insert_user(key, domain, hashed, scram, quota, time.time())

    def import_user(
        self,
        address: str,
        *,
        password_hash: str,
        scram: ScramCredentials,
        quota: Quota = UNLIMITED,
        created: float | None = None,
    ) -> User:
        """A user moved from another store with its hash and SCRAM keys as they are
        (``mailtool store migrate``: nobody's password is known, none is re-hashed)."""
        key, _local, domain = user_key(address)
        check_quota(quota)
        return self._insert_user(
            key, domain, password_hash, scram, quota, time.time() if created is None else created
        )

    def _insert_user(
        self, key: str, domain: str, hashed: str, scram: ScramCredentials, quota: Quota,
        created: float,
    ) -> User:  # fmt: skip
        with self.db.transaction() as conn:
            self._require_domain(conn, domain)
            cur = conn.execute(
                "INSERT INTO users (address, domain, password_hash, scram_salt,"
                " scram_iterations, scram_stored_key, scram_server_key, quota_bytes,"
                " quota_messages, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (key, domain, hashed, scram.salt, scram.iterations, scram.stored_key,
                 scram.server_key, quota.storage_bytes, quota.messages, created),
            )  # fmt: skip
            if cur.rowcount == 0:
                raise AlreadyExists(f"user {key} exists already")
        return User(key, quota, created)

    def remove_user(self, address: str, *, purge: bool = False) -> None:
        """Remove a user and aliases that pointed only at them; the mail (and its
        METADATA) stays unless ``purge``, then it goes in the same transaction."""
        key = addr.normalize(address)
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM users WHERE address = %s", (key,)).rowcount == 0:
                raise NotFound(f"user {key} does not exist")
            conn.execute("DELETE FROM aliases WHERE target = %s", (key,))
            if purge:
                from mailtool.store.pg.mailstore import purge_mail

                purge_mail(conn, key)
                conn.execute("DELETE FROM imap_metadata WHERE address = %s", (key,))

    # ------------------------------------------------------------------ aliases

    def add_alias(self, source: str, targets: Iterable[str]) -> Alias:
        """Add ``targets`` to the alias ``source`` (created if new; adding twice is harmless)."""
        key, domain = alias_source(source)
        norm = [addr.normalize(t) for t in targets]
        if not norm:
            raise StoreError("an alias needs at least one target address")
        with self.db.transaction() as conn:
            self._require_domain(conn, domain)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO aliases (source, domain, target) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [(key, domain, t) for t in norm],
                )
            found = conn.execute(
                "SELECT target FROM aliases WHERE source = %s ORDER BY target", (key,)
            ).fetchall()
        return Alias(key, tuple(r[0] for r in found))

    def remove_alias(self, source: str, targets: Iterable[str] = ()) -> None:
        """Remove the given targets of ``source``, or the whole alias when none are given."""
        key, _ = alias_source(source)
        norm = [addr.normalize(t) for t in targets]
        with self.db.transaction() as conn:
            if norm:
                cur = conn.execute(
                    "DELETE FROM aliases WHERE source = %s AND target = ANY(%s)", (key, norm)
                )
            else:
                cur = conn.execute("DELETE FROM aliases WHERE source = %s", (key,))
            if cur.rowcount == 0:
                raise NotFound(f"alias {key} {' '.join(norm)} does not exist".replace("  ", " "))


def pg_sql(sql: str) -> str:
    """A statement written for both engines (``?`` placeholders) in psycopg's style."""
    return sql.replace("%", "%%").replace("?", "%s")
