"""What an account store decides, whatever keeps its rows: alias resolution, the users an
address reaches, password and SCRAM checks, the lookup cache's bounds.

:class:`AccountRules` is the base of both account stores (SQLite,
:class:`mailtool.store.accounts.AccountStore`, and PostgreSQL,
:class:`mailtool.store.pg.accounts.PgAccountStore`): each supplies a few primitive
queries (is this a user, the targets of one alias source, ...) and the cache's
freshness check; the rules here make both answer alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.pwhash
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailtool.errors import NotFound, StoreError
from mailtool.protocol.sasl import (
    DEFAULT_ITERATIONS,
    ScramCredentials,
    mock_salt,
    scram_credentials,
)
from mailtool.store import address as addr

#: how deep alias -> alias -> ... chains may go before resolve() gives up
MAX_ALIAS_DEPTH = 10
#: lookups remembered between account changes (the cache starts again when full)
CACHE_ENTRIES = 10_000
#: reads any argon2 hash's own parameters (see check_hash)
_VERIFY_HASHER = PasswordHasher()
#: the secret unknown users' SCRAM salts come from (a file on SQLite, a row on PostgreSQL)
MOCK_KEY_BYTES = 32


class AliasLoop(StoreError):
    """An alias chain is deeper than :data:`MAX_ALIAS_DEPTH` (probably a configuration loop)."""


@dataclass(frozen=True)
class Quota:
    """Limits for one user; None = unlimited."""

    storage_bytes: int | None = None
    messages: int | None = None


#: no limit at all (the default of a new user)
UNLIMITED = Quota()


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


def alias_source(source: str) -> tuple[str, str]:
    """An alias source: ``(key, domain)`` where key is an address or ``@domain``."""
    text = source.strip()
    if text.startswith("@"):
        domain = addr.normalize_domain(text[1:])
        return f"@{domain}", domain
    key = addr.normalize(text)
    return key, key.rpartition("@")[2]


def check_quota(quota: Quota) -> None:
    for value in (quota.storage_bytes, quota.messages):
        if value is not None and value < 0:
            raise StoreError("a quota cannot be negative (use none for unlimited)")


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


def make_hasher() -> PasswordHasher:
    """argon2id, 64 MiB, 3 passes, like RFC 9106's low-memory profile but one lane:
    the same parameters as Dovecot's ARGON2ID. Four lanes cost the same CPU but
    start threads for every check: ~50% more time per login when many log in at once."""
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)


def hash_password(
    hasher: PasswordHasher, password: str, iterations: int
) -> tuple[str, ScramCredentials]:
    """The argon2id hash and the SCRAM-SHA-256 keys of ``password`` (slow: outside
    any transaction)."""
    if not isinstance(password, str) or not password:
        raise StoreError("the password must not be empty")
    return hasher.hash(password), scram_credentials(password, iterations=iterations)


def user_key(address: str) -> tuple[str, str, str]:
    """``(key, local, domain)`` of a new user; '+' is refused (it starts a tag)."""
    key = addr.normalize(address)
    local, domain = key.rsplit("@", 1)
    if "+" in local:
        raise addr.InvalidAddress(
            f"{key}: '+' starts a plus-address tag, so user names cannot contain it"
        )
    return key, local, domain


#: the columns :func:`user_of` reads
USER_COLUMNS = "address, quota_bytes, quota_messages, created"


def user_of(row: Sequence[Any]) -> User:
    address, quota_bytes, quota_messages, created = row
    return User(address, Quota(quota_bytes, quota_messages), float(created))


def delete_domain(execute: Callable[[str, Sequence[object]], Any], name: str, force: bool) -> None:
    """Remove domain ``name`` with ``execute(sql, params)`` inside the caller's transaction
    (``?`` placeholders); with users or aliases only when ``force`` (their mail is kept)."""
    if not execute("SELECT 1 FROM domains WHERE name = ?", (name,)).fetchone():
        raise NotFound(f"domain {name} does not exist")
    n = execute("SELECT count(*) FROM users WHERE domain = ?", (name,)).fetchone()[0]
    if n and not force:
        raise StoreError(
            f"domain {name} still has {n} user(s); remove them first or use --force "
            "(their mail is kept)"
        )
    execute("DELETE FROM aliases WHERE domain = ?", (name,))
    execute("DELETE FROM users WHERE domain = ?", (name,))
    execute("DELETE FROM domains WHERE name = ?", (name,))


def missing_domain(domain: str) -> NotFound:
    return NotFound(f"domain {domain} is not local; add it with: mailtool domain add {domain}")


class AccountRules:
    """The backend-neutral half of an account store (see the module docstring).

    Subclasses set ``scram_iterations``, ``check_hash`` and ``_hasher`` and implement
    the primitives: :meth:`_lookups` (the cache, emptied when the accounts changed
    anywhere), :meth:`_rows` and :meth:`_run` (one statement, SQL with ``?``
    placeholders, the same text for both engines), :meth:`_mock_secret`. Statements
    that need a transaction of several steps are each backend's.
    """

    scram_iterations: int = DEFAULT_ITERATIONS
    check_hash: Callable[[str, str], bool]
    _hasher: PasswordHasher
    _dummy_hash: str | None = None
    _mock_key: bytes | None = None

    # ------------------------------------------------------------------ primitives

    def _lookups(self) -> dict[tuple[str, str], object]:
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Sequence[Any]]:
        """Every row of one read (``?`` placeholders)."""
        raise NotImplementedError

    def _run(self, sql: str, params: Sequence[object] = ()) -> int:
        """One write statement in a transaction of its own; the rows it changed."""
        raise NotImplementedError

    def _mock_secret(self) -> bytes:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[object] = ()) -> Sequence[Any] | None:
        found = self._rows(sql, params)
        return found[0] if found else None

    def _domain_exists(self, name: str) -> bool:
        return self._one("SELECT 1 FROM domains WHERE name = ?", (name,)) is not None

    def _find_user(self, key: str) -> User | None:
        row = self._one(f"SELECT {USER_COLUMNS} FROM users WHERE address = ?", (key,))
        return user_of(row) if row is not None else None

    def _is_user(self, key: str) -> bool:
        return self._one("SELECT 1 FROM users WHERE address = ?", (key,)) is not None

    def _targets(self, source: str) -> list[str]:
        """The targets of one alias source, sorted."""
        rows = self._rows("SELECT target FROM aliases WHERE source = ? ORDER BY target", (source,))
        return [r[0] for r in rows]

    def _sources_of(self, targets: list[str]) -> set[str]:
        """The address (not catch-all) sources of aliases with one of ``targets``."""
        marks = ",".join("?" * len(targets))
        rows = self._rows(
            f"SELECT DISTINCT source FROM aliases WHERE target IN ({marks})"
            " AND source NOT LIKE '@%'",
            targets,
        )
        return {r[0] for r in rows}

    def _password_row(self, key: str) -> tuple[str, int] | None:
        """``(argon2 hash, SCRAM iteration count)`` of a user."""
        row = self._one(
            "SELECT password_hash, scram_iterations FROM users WHERE address = ?", (key,)
        )
        return (row[0], int(row[1])) if row else None

    def _store_scram(self, key: str, stored: str, scram: ScramCredentials) -> None:
        """Replace the user's SCRAM keys unless the hash is no longer ``stored``.
        A store that cannot be written (a read-only copy, a database gone) keeps the
        old keys: they still work, the next login tries again."""
        try:
            self._run(
                "UPDATE users SET scram_salt = ?, scram_iterations = ?, scram_stored_key = ?,"
                " scram_server_key = ? WHERE address = ? AND password_hash = ?",
                (scram.salt, scram.iterations, scram.stored_key, scram.server_key, key, stored),
            )
        except StoreError:
            pass

    # ------------------------------------------------------------------ listings and updates

    def domains(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM domains ORDER BY name")]

    def users(self, domain: str | None = None) -> list[User]:
        if domain is None:
            rows = self._rows(f"SELECT {USER_COLUMNS} FROM users ORDER BY domain, address")
        else:
            rows = self._rows(
                f"SELECT {USER_COLUMNS} FROM users WHERE domain = ? ORDER BY address",
                (addr.normalize_domain(domain),),
            )
        return [user_of(r) for r in rows]

    def aliases(self, domain: str | None = None) -> list[Alias]:
        if domain is None:
            rows = self._rows("SELECT source, target FROM aliases ORDER BY source, target")
        else:
            rows = self._rows(
                "SELECT source, target FROM aliases WHERE domain = ? ORDER BY source, target",
                (addr.normalize_domain(domain),),
            )
        grouped: dict[str, list[str]] = {}
        for source, target in rows:
            grouped.setdefault(source, []).append(target)
        return [Alias(s, tuple(t)) for s, t in grouped.items()]

    def set_password(self, address: str, password: str) -> None:
        key = addr.normalize(address)
        hashed, scram = hash_password(self._hasher, password, self.scram_iterations)
        changed = self._run(
            "UPDATE users SET password_hash = ?, scram_salt = ?, scram_iterations = ?,"
            " scram_stored_key = ?, scram_server_key = ? WHERE address = ?",
            (hashed, scram.salt, scram.iterations, scram.stored_key, scram.server_key, key),
        )
        if changed == 0:
            raise NotFound(f"user {key} does not exist")

    def set_quota(self, address: str, quota: Quota) -> None:
        key = addr.normalize(address)
        check_quota(quota)
        changed = self._run(
            "UPDATE users SET quota_bytes = ?, quota_messages = ? WHERE address = ?",
            (quota.storage_bytes, quota.messages, key),
        )
        if changed == 0:
            raise NotFound(f"user {key} does not exist")

    def scram_credentials(self, address: str) -> ScramCredentials | None:
        """Stored SCRAM-SHA-256 keys; None for an unknown user (the SCRAM server fakes a salt)."""
        try:
            key = addr.normalize(address)
        except StoreError:
            return None
        row = self._one(
            "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key"
            " FROM users WHERE address = ?",
            (key,),
        )
        if row is None:
            return None
        return ScramCredentials(bytes(row[0]), int(row[1]), bytes(row[2]), bytes(row[3]))

    # ------------------------------------------------------------------ lookups

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
        return self._domain_exists(name)

    def get_user(self, address: str) -> User:
        cache = self._lookups()
        found = cache.get(("user", address))
        if found is None:
            key = addr.normalize(address)
            user = self._find_user(key)
            found = cache["user", address] = user if user is not None else key
        if isinstance(found, str):  # the normalised address of a user that does not exist
            raise NotFound(
                f"user {found} does not exist; create it with: mailtool user add {found}"
            )
        assert isinstance(found, User)
        return found

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
        is_user = self._is_user(key)
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
            frontier = self._sources_of(sorted(frontier)) - reaching - {key}
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

    # ------------------------------------------------------------------ passwords

    def verify_password(self, address: str, password: str) -> bool:
        """True when ``password`` is ``address``'s; unknown users cost the same argon2 work.
        A right password whose SCRAM keys have another iteration count than
        ``scram_iterations`` (older ones: fewer) remakes them."""
        try:
            key: str | None = addr.normalize(address)
        except StoreError:
            key = None
        row = self._password_row(key) if key else None
        stored = row[0] if row else self._dummy()
        good = self.check_hash(stored, password) and row is not None
        if good and key and row is not None and row[1] != self.scram_iterations:
            # a store that cannot be written (a read-only copy) keeps the old keys
            scram = scram_credentials(password, iterations=self.scram_iterations)
            self._store_scram(key, stored, scram)
        return good

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(os.urandom(16).hex())
        return self._dummy_hash

    def scram_mock_salt(self, username: str) -> bytes:
        """The SCRAM salt shown for ``username`` when it is nobody's: the same at every
        attempt and after a restart, different for each name (RFC 5802 §9)."""
        if self._mock_key is None:
            self._mock_key = self._mock_secret()
        try:
            name = addr.normalize(username)
        except StoreError:
            name = username
        return mock_salt(self._mock_key, name)
