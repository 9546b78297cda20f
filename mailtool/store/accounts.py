"""Domains, users and aliases: who gets mail here, and how they log in.

``Accounts`` is the interface (a :class:`typing.Protocol`); ``AccountStore``
keeps it in ``<data_dir>/accounts.db`` (SQLite). Passwords are stored twice,
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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nacl.exceptions
import nacl.pwhash
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.protocol.sasl import (
    DEFAULT_ITERATIONS,
    ScramCredentials,
    mock_salt,
    scram_credentials,
)
from mailtool.store import address as addr
from mailtool.store.maildir import Maildir
from mailtool.store.sqlite import Database, Transaction

#: how deep alias -> alias -> ... chains may go before resolve() gives up
MAX_ALIAS_DEPTH = 10
#: lookups remembered between account changes (the cache starts again when full)
CACHE_ENTRIES = 10_000
#: reads any argon2 hash's own parameters (see check_hash)
_VERIFY_HASHER = PasswordHasher()
#: the secret unknown users' SCRAM salts come from, next to accounts.db
MOCK_KEY_FILE = "scram-mock.key"
MOCK_KEY_BYTES = 32


class AliasLoop(StoreError):
    """An alias chain is deeper than :data:`MAX_ALIAS_DEPTH` (probably a configuration loop)."""


@dataclass(frozen=True)
class Quota:
    """Limits for one user; None = unlimited."""

    storage_bytes: int | None = None
    messages: int | None = None


@dataclass(frozen=True)
class User:
    """A mailbox owner. Never carries a password or hash."""

    address: str
    quota: Quota
    created: float

    @property
    def localpart(self) -> str:
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Alias:
    """``source`` (an address or ``@domain``) delivers to each of ``targets``."""

    source: str
    targets: tuple[str, ...]


class Accounts(Protocol):
    """What servers and the CLI need from an account store."""

    def add_domain(self, domain: str) -> str: ...
    def domains(self) -> list[str]: ...
    def remove_domain(self, domain: str, *, force: bool = False) -> None: ...
    def is_local_domain(self, domain: str) -> bool: ...
    def add_user(self, address: str, password: str, *, quota: Quota = ...) -> User: ...
    def get_user(self, address: str) -> User: ...
    def users(self, domain: str | None = None) -> list[User]: ...
    def set_password(self, address: str, password: str) -> None: ...
    def set_quota(self, address: str, quota: Quota) -> None: ...
    def remove_user(self, address: str, *, purge: bool = False) -> None: ...
    def add_alias(self, source: str, targets: Iterable[str]) -> Alias: ...
    def aliases(self, domain: str | None = None) -> list[Alias]: ...
    def remove_alias(self, source: str, targets: Iterable[str] = ()) -> None: ...
    def resolve(self, address: str) -> list[str] | None: ...
    def verify_password(self, address: str, password: str) -> bool: ...
    def scram_credentials(self, address: str) -> ScramCredentials | None: ...
    def scram_mock_salt(self, username: str) -> bytes: ...
    def addresses_of(self, user: str) -> set[str]: ...


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


def _source(source: str) -> tuple[str, str]:
    """An alias source: ``(key, domain)`` where key is an address or ``@domain``."""
    text = source.strip()
    if text.startswith("@"):
        domain = addr.normalize_domain(text[1:])
        return f"@{domain}", domain
    key = addr.normalize(text)
    return key, key.rpartition("@")[2]


def check_hash(stored: str, password: str) -> bool:
    """:func:`verify_hash` with a hasher made here: a module-level function, so a
    server can run it in another process (:meth:`mailtool.net.login.LoginGate.offload`);
    verifying reads the parameters from the hash, whatever the hasher's."""
    return verify_hash(_VERIFY_HASHER, stored, password)


def verify_hash(hasher: PasswordHasher, stored: str, password: str) -> bool:
    """Check ``password`` against an argon2 PHC string.

    argon2id goes through libsodium (PyNaCl), the implementation Dovecot's ARGON2ID
    uses: the same work as argon2-cffi's, ~40% less CPU for it (0.10 s instead of
    0.16 s at 64 MiB, 3 passes), which is what many concurrent logins cost. A hash
    libsodium cannot read is left to argon2-cffi.
    """
    # a password read from raw bytes that are not UTF-8 (IMAP LOGIN decodes with
    # surrogateescape) is those bytes, not a UnicodeEncodeError (found by fuzz_imap_session)
    secret = password.encode("utf-8", "surrogateescape")
    if stored.startswith("$argon2id$"):
        try:
            return bool(nacl.pwhash.argon2id.verify(stored.encode(), secret))
        except nacl.exceptions.InvalidkeyError:
            return False
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            pass  # not for libsodium: argon2-cffi decides
    try:
        return hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


def _hash_password(
    hasher: PasswordHasher, password: str, iterations: int
) -> tuple[str, ScramCredentials]:
    if not isinstance(password, str) or not password:
        raise StoreError("the password must not be empty")
    return hasher.hash(password), scram_credentials(password, iterations=iterations)


class AccountStore:
    """SQLite implementation of :class:`Accounts`.

    ``mail_root`` (default ``<db dir>/mail``) is where user Maildirs live:
    ``<mail_root>/<domain>/<localpart>/``. Creating a user creates its Maildir.
    :attr:`check_hash` is what checks a password against its argon2 hash
    (``check_hash(stored, password)``); a server replaces it with one that runs
    :func:`check_hash` in a worker process.
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
        self.mail_root = Path(mail_root) if mail_root else self.path.parent / "mail"
        self._db = Database(self.path, _SCHEMA)
        # argon2id, 64 MiB, 3 passes, like RFC 9106's low-memory profile but one lane:
        # the same parameters as Dovecot's ARGON2ID. Four lanes cost the same CPU but
        # start threads for every check: ~50% more time per login when many log in at once
        self._hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
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
        return cls(Path(data_dir) / "accounts.db", scram_iterations=scram_iterations)

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

    # ------------------------------------------------------------------ domains

    def add_domain(self, domain: str) -> str:
        name = addr.normalize_domain(domain)
        with self._write() as tx:
            if tx.execute("SELECT 1 FROM domains WHERE name = ?", (name,)).fetchone():
                raise AlreadyExists(f"domain {name} exists already")
            tx.execute("INSERT INTO domains (name, created) VALUES (?, ?)", (name, time.time()))
        return name

    def domains(self) -> list[str]:
        return [r["name"] for r in self._db.query("SELECT name FROM domains ORDER BY name")]

    def is_local_domain(self, domain: str) -> bool:
        cache = self._lookups()
        found = cache.get(("domain", domain))
        if found is None:
            found = cache["domain", domain] = self._is_local_domain(domain)
        return bool(found)

    def _is_local_domain(self, domain: str) -> bool:
        try:
            name = addr.normalize_domain(domain)
        except StoreError:
            return False
        return self._db.one("SELECT 1 FROM domains WHERE name = ?", (name,)) is not None

    def remove_domain(self, domain: str, *, force: bool = False) -> None:
        """Remove a domain; with users or aliases only when ``force`` (their mail stays on disk)."""
        name = addr.normalize_domain(domain)
        with self._write() as tx:
            if not tx.execute("SELECT 1 FROM domains WHERE name = ?", (name,)).fetchone():
                raise NotFound(f"domain {name} does not exist")
            n = tx.execute("SELECT count(*) FROM users WHERE domain = ?", (name,)).fetchone()[0]
            if n and not force:
                raise StoreError(
                    f"domain {name} still has {n} user(s); remove them first or use --force "
                    "(their mail stays on disk)"
                )
            tx.execute("DELETE FROM aliases WHERE domain = ?", (name,))
            tx.execute("DELETE FROM users WHERE domain = ?", (name,))
            tx.execute("DELETE FROM domains WHERE name = ?", (name,))

    def _require_domain(self, tx: Transaction, domain: str) -> None:
        if not tx.execute("SELECT 1 FROM domains WHERE name = ?", (domain,)).fetchone():
            raise NotFound(
                f"domain {domain} is not local; add it with: mailtool domain add {domain}"
            )

    # ------------------------------------------------------------------ users

    def add_user(self, address: str, password: str, *, quota: Quota = Quota()) -> User:
        """Create a user and its Maildir (INBOX, Sent, Drafts, Junk, Trash, Archive)."""
        key = addr.normalize(address)
        local, domain = key.rsplit("@", 1)
        if "+" in local:
            raise addr.InvalidAddress(
                f"{key}: '+' starts a plus-address tag, so user names cannot contain it"
            )
        # slow: outside the transaction
        hashed, scram = _hash_password(self._hasher, password, self.scram_iterations)
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

    def get_user(self, address: str) -> User:
        cache = self._lookups()
        found = cache.get(("user", address))
        if found is None:
            key = addr.normalize(address)
            row = self._db.one("SELECT * FROM users WHERE address = ?", (key,))
            found = cache["user", address] = _user(row) if row is not None else key
        if isinstance(found, str):  # the normalised address of a user that does not exist
            raise NotFound(
                f"user {found} does not exist; create it with: mailtool user add {found}"
            )
        assert isinstance(found, User)
        return found

    def users(self, domain: str | None = None) -> list[User]:
        if domain is None:
            rows = self._db.query("SELECT * FROM users ORDER BY domain, address")
        else:
            name = addr.normalize_domain(domain)
            rows = self._db.query("SELECT * FROM users WHERE domain = ? ORDER BY address", (name,))
        return [_user(r) for r in rows]

    def set_password(self, address: str, password: str) -> None:
        key = addr.normalize(address)
        hashed, scram = _hash_password(self._hasher, password, self.scram_iterations)
        with self._write() as tx:
            cur = tx.execute(
                "UPDATE users SET password_hash = ?, scram_salt = ?, scram_iterations = ?,"
                " scram_stored_key = ?, scram_server_key = ? WHERE address = ?",
                (hashed, scram.salt, scram.iterations, scram.stored_key, scram.server_key, key),
            )
            if cur.rowcount == 0:
                raise NotFound(f"user {key} does not exist")

    def set_quota(self, address: str, quota: Quota) -> None:
        key = addr.normalize(address)
        for value in (quota.storage_bytes, quota.messages):
            if value is not None and value < 0:
                raise StoreError("a quota cannot be negative (use none for unlimited)")
        with self._write() as tx:
            cur = tx.execute(
                "UPDATE users SET quota_bytes = ?, quota_messages = ? WHERE address = ?",
                (quota.storage_bytes, quota.messages, key),
            )
            if cur.rowcount == 0:
                raise NotFound(f"user {key} does not exist")

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
        key, domain = _source(source)
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

    def aliases(self, domain: str | None = None) -> list[Alias]:
        if domain is None:
            rows = self._db.query("SELECT source, target FROM aliases ORDER BY source, target")
        else:
            rows = self._db.query(
                "SELECT source, target FROM aliases WHERE domain = ? ORDER BY source, target",
                (addr.normalize_domain(domain),),
            )
        grouped: dict[str, list[str]] = {}
        for r in rows:
            grouped.setdefault(r["source"], []).append(r["target"])
        return [Alias(s, tuple(t)) for s, t in grouped.items()]

    def remove_alias(self, source: str, targets: Iterable[str] = ()) -> None:
        """Remove the given targets of ``source``, or the whole alias when none are given."""
        key, _ = _source(source)
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

    # ------------------------------------------------------------------ queries for servers

    def resolve(self, address: str) -> list[str] | None:
        """Where mail to ``address`` goes: None if its domain is not local, else final addresses.

        Lookup order per address: alias, user, plus-address base (``a+x`` -> ``a``),
        then the domain's catch-all. An alias whose chain comes back to an address
        already being expanded delivers to that address if it is a user (so
        ``alice -> alice, bob`` keeps a copy), otherwise the loop is dropped.
        Results are ordered, without duplicates; addresses of non-local domains
        are forwards the MTA relays. ``[]`` means local domain, nobody there.
        Answers are remembered until the accounts change (an AliasLoop is not).
        """
        cache = self._lookups()
        key = ("resolve", address)
        if key in cache:
            found = cache[key]
        else:
            found = cache[key] = self._resolve(address)
        return None if found is None else list(found)  # type: ignore[call-overload]

    def _resolve(self, address: str) -> tuple[str, ...] | None:
        try:
            local, domain = addr.split(address)
        except StoreError:
            return None
        if not self._is_local_domain(domain):
            return None
        out: list[str] = []
        self._expand(f"{local}@{domain}", [], out)
        return tuple(out)

    def _expand(self, key: str, path: list[str], out: list[str]) -> None:
        if len(path) >= MAX_ALIAS_DEPTH:
            raise AliasLoop(f"alias chain too deep at {key}: {' -> '.join(path)}")
        local, domain = key.rsplit("@", 1)
        is_user = self._db.one("SELECT 1 FROM users WHERE address = ?", (key,)) is not None
        local_domain = self._is_local_domain(domain)
        if key in path or not local_domain:
            if (is_user or not local_domain) and key not in out:
                out.append(key)
            return
        targets = self._targets(key)
        if targets:
            for t in targets:
                self._expand(t, [*path, key], out)
        elif is_user:
            if key not in out:
                out.append(key)
        elif (base := addr.base_of(local)) is not None:
            self._expand(f"{base}@{domain}", path, out)
        else:
            for t in self._targets(f"@{domain}"):  # the catch-all
                self._expand(t, [*path, key], out)

    def _targets(self, source: str) -> list[str]:
        rows = self._db.query(
            "SELECT target FROM aliases WHERE source = ? ORDER BY target", (source,)
        )
        return [r["target"] for r in rows]

    def verify_password(self, address: str, password: str) -> bool:
        """True when ``password`` is ``address``'s; unknown users cost the same argon2 work.
        A right password whose SCRAM keys have another iteration count than
        ``scram_iterations`` (older ones: fewer) remakes them."""
        try:
            key = addr.normalize(address)
        except StoreError:
            key = None
        row = (
            self._db.one(
                "SELECT password_hash, scram_iterations FROM users WHERE address = ?", (key,)
            )
            if key
            else None
        )
        stored = row["password_hash"] if row else self._dummy()
        good = self.check_hash(stored, password) and row is not None
        if good and key and row["scram_iterations"] != self.scram_iterations:
            self._upgrade_scram(key, stored, password)
        return good

    def _upgrade_scram(self, key: str, stored: str, password: str) -> None:
        """New SCRAM keys with today's iterations, unless the password changed meanwhile.
        A store that cannot be written (a read-only copy) keeps the old keys."""
        scram = scram_credentials(password, iterations=self.scram_iterations)
        try:
            with self._write() as tx:
                tx.execute(
                    "UPDATE users SET scram_salt = ?, scram_iterations = ?, scram_stored_key = ?,"
                    " scram_server_key = ? WHERE address = ? AND password_hash = ?",
                    (scram.salt, scram.iterations, scram.stored_key, scram.server_key, key,
                     stored),
                )  # fmt: skip
        except (StoreError, sqlite3.Error):
            pass

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(os.urandom(16).hex())
        return self._dummy_hash

    def scram_credentials(self, address: str) -> ScramCredentials | None:
        """Stored SCRAM-SHA-256 keys; None for an unknown user (the SCRAM server fakes a salt)."""
        try:
            key = addr.normalize(address)
        except StoreError:
            return None
        row = self._db.one(
            "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key"
            " FROM users WHERE address = ?",
            (key,),
        )
        if row is None:
            return None
        return ScramCredentials(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3]))

    def scram_mock_salt(self, username: str) -> bytes:
        """The SCRAM salt shown for ``username`` when it is nobody's: the same at every
        attempt and after a restart, different for each name (RFC 5802 §9)."""
        if self._mock_key is None:
            self._mock_key = persistent_secret(self.path.with_name(MOCK_KEY_FILE))
        try:
            name = addr.normalize(username)
        except StoreError:
            name = username
        return mock_salt(self._mock_key, name)

    def addresses_of(self, user: str) -> set[str]:
        """The user's address plus every alias that delivers to them and only them.

        For submission: MAIL FROM must be one of these (DESIGN principle 3).
        """
        key = addr.normalize(user)
        self.get_user(key)
        # walk the alias graph backwards from the user, then keep the sources
        # whose whole expansion is this user
        reaching: set[str] = set()
        frontier = {key}
        for _ in range(MAX_ALIAS_DEPTH):
            marks = ",".join("?" * len(frontier))
            rows = self._db.query(
                f"SELECT DISTINCT source FROM aliases WHERE target IN ({marks})"
                " AND source NOT LIKE '@%'",
                sorted(frontier),
            )
            frontier = {r["source"] for r in rows} - reaching - {key}
            if not frontier:
                break
            reaching |= frontier
        own = {key}
        for source in reaching:
            try:
                if self.resolve(source) == [key]:
                    own.add(source)
            except AliasLoop:
                continue
        return own


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


def _user(row: sqlite3.Row) -> User:
    return User(row["address"], Quota(row["quota_bytes"], row["quota_messages"]), row["created"])
