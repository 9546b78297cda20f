"""Domains, users and aliases: who gets mail here, and how they log in.

The interface is :class:`mailtool.store.interfaces.AccountStore` (a
:class:`typing.Protocol`); this ``AccountStore`` keeps it in
``<data_dir>/accounts.db`` (SQLite). Passwords are stored twice,
never in clear: an argon2id hash for PLAIN/LOGIN (the PHC string format
Dovecot's ``ARGON2ID`` scheme reads) and SCRAM-SHA-256 keys (RFC 5802 §3:
salt, iterations, StoredKey, ServerKey) for SCRAM, both computed when the
password is set (SCRAM with ``scram_iterations`` of PBKDF2, by default
``DEFAULT_ITERATIONS``; keys made with another count, by older versions or before
the count was changed, are remade at the user's next PLAIN/LOGIN, when we have
the password). An unknown user's SCRAM exchange shows a salt derived from a secret
kept next to the database (``scram-mock.key``, 0600, made once), so it stays the
same across restarts, as a real user's does (RFC 5802 §9).

Addresses are keys in one spelling (:mod:`mailtool.store.address`): lower-case
local part and domain. Alias sources are full addresses or ``@domain`` (the
catch-all); ``user+tag@domain`` reaches ``user@domain`` (plus-addressing).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.protocol.sasl import DEFAULT_ITERATIONS
from mailtool.store import address as addr
from mailtool.store.account_rules import (
    CACHE_ENTRIES,
    MAX_ALIAS_DEPTH,
    MOCK_KEY_BYTES,
    UNLIMITED,
    AccountRules,
    Alias,
    AliasLoop,
    Quota,
    User,
    alias_source,
    check_hash,
    delete_domain,
    hash_password,
    make_hasher,
    missing_domain,
    user_key,
    verify_hash,
)
from mailtool.store.maildir import Maildir
from mailtool.store.paths import DataDir
from mailtool.store.sqlite import Database, Transaction

if TYPE_CHECKING:
    # the interface, under its old name (mailtool.store.interfaces.AccountStore)
    from mailtool.store.interfaces import AccountStore as Accounts  # noqa: F401

#: the secret unknown users' SCRAM salts come from, next to accounts.db
MOCK_KEY_FILE = "scram-mock.key"

__all__ = [
    "CACHE_ENTRIES",
    "MAX_ALIAS_DEPTH",
    "MOCK_KEY_FILE",
    "AccountStore",
    "Alias",
    "AliasLoop",
    "Quota",
    "User",
    "check_hash",
    "persistent_secret",
    "verify_hash",
]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL REFERENCES domains(name),
    password_hash TEXT NOT NULL,
    scram_salt BLOB NOT NULL,
    scram_iterations INTEGER NOT NULL,
    scram_stored_key BLOB NOT NULL,
    scram_server_key BLOB NOT NULL,
    quota_bytes INTEGER,
    quota_messages INTEGER,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS users_domain ON users(domain);
CREATE TABLE IF NOT EXISTS aliases (
    source TEXT NOT NULL,
    domain TEXT NOT NULL REFERENCES domains(name),
    target TEXT NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX IF NOT EXISTS aliases_domain ON aliases(domain)
"""


class AccountStore(AccountRules):
    """SQLite implementation of :class:`Accounts`.

    ``mail_root`` (default ``<db dir>/mail``) is where user Maildirs live:
    ``<mail_root>/<domain>/<localpart>/``. Creating a user creates its Maildir.
    :attr:`check_hash` is what checks a password against its argon2 hash
    (``check_hash(stored, password)``); a server replaces it with one that runs
    :func:`check_hash` in a worker process. Resolution, passwords and the lookup
    cache's rules are :class:`~mailtool.store.account_rules.AccountRules`'.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mail_root: str | os.PathLike[str] | None = None,
        scram_iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        self.path = Path(path)
        self.scram_iterations = scram_iterations  # [security] scram_iterations
        self.mail_root = Path(mail_root) if mail_root else DataDir(self.path.parent).mail
        self._db = Database(self.path, _SCHEMA)
        self._hasher = make_hasher()
        self.check_hash: Callable[[str, str], bool] = check_hash
        self._dummy_hash: str | None = None
        self._mock_key: bytes | None = None
        # remembered lookups (resolve, get_user, is_local_domain; never passwords):
        # dropped after our own writes and whenever PRAGMA data_version says another
        # connection (the CLI in another process) committed
        self._cache: dict[tuple[str, str], object] = {}
        self._data_version: int | None = None

    @classmethod
    def in_data_dir(
        cls, data_dir: str | os.PathLike[str], *, scram_iterations: int = DEFAULT_ITERATIONS
    ) -> AccountStore:
        """The store of a data dir: ``<data_dir>/accounts.db``, Maildirs in ``<data_dir>/mail``."""
        return cls(DataDir(data_dir).accounts_db, scram_iterations=scram_iterations)

    def __repr__(self) -> str:
        return f"AccountStore({str(self.path)!r})"

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        """A write transaction that forgets every remembered lookup once it ends."""
        try:
            with self._db.write() as tx:
                yield tx
        finally:
            self._cache = {}

    def _lookups(self) -> dict[tuple[str, str], object]:
        """The lookup cache, valid now: one ``PRAGMA data_version`` instead of the queries.

        data_version changes when another connection (another process) commits;
        our own commits drop the cache in :meth:`_write`. A reader that filled
        an old dict while it was replaced only writes into the discarded one.
        """
        version = self._db.rows("PRAGMA data_version")[0][0]
        if version != self._data_version:
            self._data_version, self._cache = version, {}
        elif len(self._cache) >= CACHE_ENTRIES:
            self._cache = {}
        return self._cache

    def maildir_path(self, address: str) -> Path:
        """Where ``address``'s Maildir++ root is (whether or not it exists)."""
        local, domain = addr.split(address)
        return self.mail_root / domain / local

    # ------------------------------------------------------------------ primitives

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Sequence[Any]]:
        return self._db.rows(sql, params)  # type: ignore[no-any-return]

    def _run(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            with self._write() as tx:
                return int(tx.execute(sql, params).rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def _mock_secret(self) -> bytes:
        return persistent_secret(self.path.with_name(MOCK_KEY_FILE))

    # ------------------------------------------------------------------ domains

    def add_domain(self, domain: str) -> str:
        name = addr.normalize_domain(domain)
        with self._write() as tx:
            if tx.execute("SELECT 1 FROM domains WHERE name = ?", (name,)).fetchone():
                raise AlreadyExists(f"domain {name} exists already")
            tx.execute("INSERT INTO domains (name, created) VALUES (?, ?)", (name, time.time()))
        return name

    def remove_domain(self, domain: str, *, force: bool = False) -> None:
        """Remove a domain; with users or aliases only when ``force`` (their mail stays on disk)."""
        name = addr.normalize_domain(domain)
        with self._write() as tx:
            delete_domain(tx.execute, name, force)

    def _require_domain(self, tx: Transaction, domain: str) -> None:
        if not tx.execute("SELECT 1 FROM domains WHERE name = ?", (domain,)).fetchone():
            raise missing_domain(domain)

    # ------------------------------------------------------------------ users

    def add_user(self, address: str, password: str, *, quota: Quota = UNLIMITED) -> User:
        """Create a user and its Maildir (INBOX, Sent, Drafts, Junk, Trash, Archive)."""
        key, local, domain = user_key(address)
        # slow: outside the transaction
        hashed, scram = hash_password(self._hasher, password, self.scram_iterations)
        now = time.time()
        with self._write() as tx:
            self._require_domain(tx, domain)
            if tx.execute("SELECT 1 FROM users WHERE address = ?", (key,)).fetchone():
                raise AlreadyExists(f"user {key} exists already")
            tx.execute(
                "INSERT INTO users (address, domain, password_hash, scram_salt, scram_iterations,"
                " scram_stored_key, scram_server_key, quota_bytes, quota_messages, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    domain,
                    hashed,
                    scram.salt,
                    scram.iterations,
                    scram.stored_key,
                    scram.server_key,
                    quota.storage_bytes,
                    quota.messages,
                    now,
                ),
            )
            # inside the transaction: if the Maildir cannot be made, no user row either
            Maildir(self.mail_root / domain / local).create()
        return User(key, quota, now)

    def remove_user(self, address: str, *, purge: bool = False) -> None:
        """Remove a user and aliases that pointed only at them; the mail stays unless ``purge``."""
        key = addr.normalize(address)
        with self._write() as tx:
            if tx.execute("DELETE FROM users WHERE address = ?", (key,)).rowcount == 0:
                raise NotFound(f"user {key} does not exist")
            tx.execute("DELETE FROM aliases WHERE target = ?", (key,))
        if purge:
            path = self.maildir_path(key)
            if path.resolve().is_relative_to(self.mail_root.resolve()) and path.is_dir():
                shutil.rmtree(path)

    # ------------------------------------------------------------------ aliases

    def add_alias(self, source: str, targets: Iterable[str]) -> Alias:
        """Add ``targets`` to the alias ``source`` (created if new; adding twice is harmless)."""
        key, domain = alias_source(source)
        norm = [addr.normalize(t) for t in targets]
        if not norm:
            raise StoreError("an alias needs at least one target address")
        with self._write() as tx:
            self._require_domain(tx, domain)
            tx.executemany(
                "INSERT OR IGNORE INTO aliases (source, domain, target) VALUES (?, ?, ?)",
                [(key, domain, t) for t in norm],
            )
            rows = tx.execute("SELECT target FROM aliases WHERE source = ? ORDER BY target", (key,))
            return Alias(key, tuple(r["target"] for r in rows.fetchall()))

    def remove_alias(self, source: str, targets: Iterable[str] = ()) -> None:
        """Remove the given targets of ``source``, or the whole alias when none are given."""
        key, _ = alias_source(source)
        norm = [addr.normalize(t) for t in targets]
        with self._write() as tx:
            if norm:
                n = sum(
                    tx.execute(
                        "DELETE FROM aliases WHERE source = ? AND target = ?", (key, t)
                    ).rowcount
                    for t in norm
                )
            else:
                n = tx.execute("DELETE FROM aliases WHERE source = ?", (key,)).rowcount
            if n == 0:
                raise NotFound(f"alias {key} {' '.join(norm)} does not exist".replace("  ", " "))


def persistent_secret(path: Path, size: int = MOCK_KEY_BYTES) -> bytes:
    """The random secret kept at ``path``, made the first time (mode 0600, written whole
    before it appears: several processes may ask at once, the first link wins)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(tmp, flags, 0o600)
        try:
            os.write(fd, secrets.token_bytes(size))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        data = path.read_bytes()
    if len(data) < size:
        raise StoreError(f"{path} is shorter than {size} bytes; remove it to make a new one")
    return data[:size]
