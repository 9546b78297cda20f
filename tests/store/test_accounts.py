"""AccountStore and PgAccountStore: domains, users, aliases, passwords, resolve().

Every test runs on both backends (fixture ``open_accounts``, tests/store/conftest.py)
unless it looks at the SQLite data dir's files."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import sqlite3

import pytest

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.protocol.sasl import salted_password
from mailtool.store.accounts import AccountStore, AliasLoop, Quota
from mailtool.store.address import InvalidAddress
from mailtool.store.maildir import DEFAULT_FOLDERS, Maildir


@pytest.fixture
def store(open_accounts):
    s = open_accounts()
    s.add_domain("a.test")
    return s


def sqlite_only(store) -> bool:
    """True on the SQLite store: the checks that look at its files apply."""
    return isinstance(store, AccountStore)


def password_hashes(store) -> list[str]:
    """The stored password column, read past the store's API."""
    if sqlite_only(store):
        with sqlite3.connect(store.path) as con:
            return [r[0] for r in con.execute("SELECT password_hash FROM users")]
    from mailtool.store.pg.reads import rows

    return [r[0] for r in rows(store.db, "SELECT password_hash FROM users")]


def test_domains_are_normalised_listed_and_removed(store):
    assert store.add_domain("B.Test.") == "b.test"
    assert store.domains() == ["a.test", "b.test"]
    assert store.is_local_domain("A.TEST")
    assert not store.is_local_domain("c.test")
    assert not store.is_local_domain("../etc")
    with pytest.raises(AlreadyExists):
        store.add_domain("b.test")
    store.remove_domain("b.test")
    assert store.domains() == ["a.test"]
    with pytest.raises(NotFound):
        store.remove_domain("b.test")


def test_idna_domain_is_stored_as_a_labels(store):
    assert store.add_domain("bücher.test") == "xn--bcher-kva.test"
    assert store.is_local_domain("BÜCHER.test")


def test_removing_a_domain_with_users_needs_force(store, tmp_path):
    store.add_user("alice@a.test", "pw")
    with pytest.raises(StoreError, match="--force"):
        store.remove_domain("a.test")
    store.remove_domain("a.test", force=True)
    assert store.users() == []
    assert not store.is_local_domain("a.test")
    if sqlite_only(store):
        assert (tmp_path / "mail/a.test/alice/cur").is_dir(), "mail is kept"


@pytest.mark.parametrize("accounts_backend", ["sqlite"])  # the Maildir on disk
def test_user_add_creates_maildir_with_default_folders(store, tmp_path):
    user = store.add_user("Alice@A.Test", "secret", quota=Quota(1000, 5))
    assert user.address == "alice@a.test"
    assert user.quota == Quota(1000, 5)
    root = tmp_path / "mail" / "a.test" / "alice"
    assert sorted(Maildir(root).folders()) == sorted(DEFAULT_FOLDERS)
    assert (root / ".Sent" / "maildirfolder").exists()
    with pytest.raises(AlreadyExists):
        store.add_user("alice@a.test", "x")


def test_user_needs_a_local_domain_and_says_how_to_add_it(store):
    with pytest.raises(NotFound, match=r"mailtool domain add b\.test"):
        store.add_user("bob@b.test", "pw")


@pytest.mark.parametrize(
    "bad",
    [
        "../x@a.test",
        "a/b@a.test",
        "a..b@a.test",
        ".a@a.test",
        "a\x00@a.test",
        "x@../a",
        "@a.test",
        "plain",
        "a+b@a.test",
        "x@a_b.test",
    ],
)
def test_bad_user_addresses_are_refused(store, bad):
    with pytest.raises(InvalidAddress):
        store.add_user(bad, "pw")


def test_passwords_verify_and_change_and_are_never_stored_in_clear(store, tmp_path):
    store.add_user("alice@a.test", "correct horse")
    assert store.verify_password("ALICE@a.test", "correct horse")
    assert not store.verify_password("alice@a.test", "wrong")
    assert not store.verify_password("nobody@a.test", "correct horse")
    assert not store.verify_password("not an address", "x")
    store.set_password("alice@a.test", "new one")
    assert store.verify_password("alice@a.test", "new one")
    assert not store.verify_password("alice@a.test", "correct horse")
    if sqlite_only(store):
        raw = (tmp_path / "accounts.db").read_bytes()
        assert b"new one" not in raw and b"correct horse" not in raw
    [stored] = password_hashes(store)
    assert stored.startswith("$argon2id$") and "new one" not in stored
    with pytest.raises(NotFound):
        store.set_password("nobody@a.test", "x")
    with pytest.raises(StoreError):
        store.set_password("alice@a.test", "")


def test_scram_credentials_match_rfc5802(store):
    store.add_user("alice@a.test", "pencil")
    creds = store.scram_credentials("alice@a.test")
    assert creds is not None and creds.iterations >= 4096
    salted = salted_password("pencil", creds.salt, creds.iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert creds.stored_key == hashlib.sha256(client_key).digest()
    assert creds.server_key == hmac.new(salted, b"Server Key", "sha256").digest()
    assert "pencil" not in repr(creds) and repr(creds.stored_key) not in repr(creds)
    assert store.scram_credentials("nobody@a.test") is None
    store.set_password("alice@a.test", "other")
    assert store.scram_credentials("alice@a.test").stored_key != creds.stored_key


def test_repr_shows_no_secret(store):
    store.add_user("alice@a.test", "hunter2")
    assert "argon2" not in repr(store.get_user("alice@a.test"))
    assert "hunter2" not in repr(store)


def test_quota_and_listing(store):
    store.add_user("bob@a.test", "pw")
    store.add_user("alice@a.test", "pw")
    store.set_quota("bob@a.test", Quota(storage_bytes=10_000, messages=None))
    assert [u.address for u in store.users()] == ["alice@a.test", "bob@a.test"]
    assert store.get_user("bob@a.test").quota == Quota(10_000, None)
    with pytest.raises(StoreError):
        store.set_quota("bob@a.test", Quota(-1, None))
    with pytest.raises(NotFound):
        store.set_quota("nobody@a.test", Quota())


@pytest.mark.parametrize("accounts_backend", ["sqlite"])  # the Maildir on disk
def test_remove_user_keeps_mail_unless_purged(store, tmp_path):
    store.add_user("alice@a.test", "pw")
    store.add_user("bob@a.test", "pw")
    store.add_alias("al@a.test", ["alice@a.test"])
    store.remove_user("alice@a.test")
    assert (tmp_path / "mail/a.test/alice/cur").is_dir()
    assert store.aliases() == [], "an alias pointing only at a removed user goes with it"
    store.remove_user("bob@a.test", purge=True)
    assert not (tmp_path / "mail/a.test/bob").exists()
    with pytest.raises(NotFound):
        store.remove_user("bob@a.test")


@pytest.fixture
def people(store):
    store.add_domain("b.test")
    for a in ("alice@a.test", "bob@a.test", "carol@b.test"):
        store.add_user(a, "pw")
    return store


def test_resolve_users_plus_addressing_and_unknown(people):
    assert people.resolve("Alice@A.TEST") == ["alice@a.test"]
    assert people.resolve("alice+lists@a.test") == ["alice@a.test"]
    assert people.resolve("nobody@a.test") == []
    assert people.resolve("nobody+x@a.test") == []
    assert people.resolve("someone@remote.test") is None
    assert people.resolve("garbage") is None


def test_resolve_aliases_fan_out_chain_and_forward(people):
    people.add_alias("team@a.test", ["alice@a.test", "bob@a.test"])
    people.add_alias("all@b.test", ["team@a.test", "carol@b.test", "ext@remote.test"])
    assert people.resolve("team@a.test") == ["alice@a.test", "bob@a.test"]
    assert sorted(people.resolve("ALL+x@b.test")) == [
        "alice@a.test",
        "bob@a.test",
        "carol@b.test",
        "ext@remote.test",
    ]


def test_resolve_catch_all_only_when_nothing_else_matches(people):
    people.add_alias("@a.test", ["bob@a.test"])
    assert people.resolve("whoever@a.test") == ["bob@a.test"]
    assert people.resolve("alice@a.test") == ["alice@a.test"]
    assert people.resolve("x@b.test") == []


def test_resolve_loops_are_bounded(people):
    people.add_alias("x@a.test", ["y@a.test"])
    people.add_alias("y@a.test", ["x@a.test"])
    assert people.resolve("x@a.test") == []
    people.add_alias("alice@a.test", ["alice@a.test", "bob@a.test"])  # keep a copy
    assert people.resolve("alice@a.test") == ["alice@a.test", "bob@a.test"]
    for i in range(15):
        people.add_alias(f"c{i}@a.test", [f"c{i + 1}@a.test"])
    with pytest.raises(AliasLoop):
        people.resolve("c0@a.test")


def test_aliases_list_remove(people):
    people.add_alias("team@a.test", ["alice@a.test"])
    people.add_alias("team@a.test", ["bob@a.test", "alice@a.test"])
    assert [(a.source, a.targets) for a in people.aliases("a.test")] == [
        ("team@a.test", ("alice@a.test", "bob@a.test"))
    ]
    people.remove_alias("team@a.test", ["alice@a.test"])
    assert people.resolve("team@a.test") == ["bob@a.test"]
    people.remove_alias("team@a.test")
    assert people.aliases() == []
    with pytest.raises(NotFound):
        people.remove_alias("team@a.test")
    with pytest.raises(NotFound, match="domain add"):
        people.add_alias("x@c.test", ["alice@a.test"])


def test_addresses_of_are_own_address_and_exclusive_aliases(people):
    people.add_alias("al@a.test", ["alice@a.test"])
    people.add_alias("ally@b.test", ["al@a.test"])
    people.add_alias("team@a.test", ["alice@a.test", "bob@a.test"])
    people.add_alias("@a.test", ["alice@a.test"])
    assert people.addresses_of("ALICE@a.test") == {"alice@a.test", "al@a.test", "ally@b.test"}
    assert people.addresses_of("bob@a.test") == {"bob@a.test"}
    with pytest.raises(NotFound):
        people.addresses_of("nobody@a.test")


def _add_users(where, prefix, n):
    if isinstance(where, str):  # a PostgreSQL URL: another node
        from mailtool.store.pg.accounts import PgAccountStore
        from mailtool.store.pg.db import Database

        s = PgAccountStore(Database(where, pool_size=1))
    else:
        s = AccountStore.in_data_dir(where)
    for i in range(n):
        s.add_user(f"{prefix}{i}@a.test", "pw")
        s.add_alias(f"{prefix}-alias@a.test", [f"{prefix}{i}@a.test"])
    s.close()
    getattr(s, "db", s).close()


def test_concurrent_processes_do_not_corrupt_the_database(store, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    where = tmp_path if sqlite_only(store) else store.db.url
    procs = [ctx.Process(target=_add_users, args=(where, f"p{k}", 8)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert len(store.users()) == 32
    assert len(store.aliases()) == 4
    if sqlite_only(store):
        con = sqlite3.connect(tmp_path / "accounts.db")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_password_from_bytes_that_are_not_utf8_is_just_wrong(store):
    # IMAP LOGIN decodes a password with surrogateescape: argon2 raised UnicodeEncodeError
    # (a logged crash instead of a failed login; found by tests/fuzz/fuzz_imap_session.py)
    store.add_user("alice@a.test", "correct horse")
    assert not store.verify_password("alice@a.test", "correct\udce5horse")
    assert not store.verify_password("nobody@a.test", "\udcff")
