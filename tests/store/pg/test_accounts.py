"""PgAccountStore as several nodes see it: one database, several stores (pools).

The SQLite store's own tests run on PostgreSQL too (tests/store/test_accounts*.py,
fixture ``open_accounts``); these are what only a cluster has."""

from __future__ import annotations

from typing import Any

import pytest

from mailtool.errors import AlreadyExists, NotFound, StoreUnavailable
from mailtool.protocol import sasl
from mailtool.store.accounts import AccountStore, Quota
from mailtool.store.pg.accounts import PgAccountStore
from mailtool.store.pg.db import Database
from tests.peers import free_port


def node(db: Database) -> PgAccountStore:
    """Another serve node: a pool of its own on the same database."""
    return PgAccountStore(Database(db.url, pool_size=2, connect_timeout=2))


@pytest.fixture
def nodes(pg_database: Database) -> Any:
    a, b = node(pg_database), node(pg_database)
    a.add_domain("a.test")
    yield a, b
    a.db.close()
    b.db.close()


def test_two_nodes_see_each_others_changes_at_once(nodes: Any) -> None:
    a, b = nodes
    assert b.resolve("bob@a.test") == [] and b.is_local_domain("a.test")
    a.add_user("bob@a.test", "pw", quota=Quota(10, 1))
    assert b.get_user("bob@a.test").quota == Quota(10, 1)
    b.add_alias("team@a.test", ["bob@a.test"])
    assert a.resolve("team@a.test") == ["bob@a.test"]
    assert a.addresses_of("bob@a.test") == {"bob@a.test", "team@a.test"}
    with pytest.raises(AlreadyExists):
        b.add_user("bob@a.test", "pw")
    a.set_password("bob@a.test", "new")  # a password changed on one node: refused on the other
    assert b.verify_password("bob@a.test", "new") and not b.verify_password("bob@a.test", "pw")
    b.remove_user("bob@a.test")
    assert a.resolve("team@a.test") == [] and a.aliases() == []
    with pytest.raises(NotFound):
        a.get_user("bob@a.test")


def test_the_scram_mock_salt_is_the_same_on_every_node(nodes: Any, pg_database: Database) -> None:
    a, b = nodes
    ghost = b.scram_mock_salt("ghost@a.test")
    assert a.scram_mock_salt("Ghost@A.test") == ghost and len(ghost) == 16
    assert a.scram_mock_salt("other@a.test") != ghost
    c = node(pg_database)  # a node started later (or after a restart)
    try:
        assert c.scram_mock_salt("ghost@a.test") == ghost
    finally:
        c.db.close()


def test_removing_a_user_keeps_the_mail_unless_purged(nodes: Any) -> None:
    from mailtool.store.pg.mailstore import PgMailStore
    from mailtool.store.pg.metadata import PgMetadata
    from mailtool.store.pg.reads import rows

    a, _ = nodes
    mail = PgMailStore(a.db, accounts=a)
    try:
        a.add_user("bob@a.test", "pw")
        mail.user("bob@a.test").deliver(b"Subject: hi\r\n\r\nbody\r\n", "INBOX")
        PgMetadata(a.db, "bob@a.test").set("", [("/private/comment", b"x")])

        def kept() -> tuple[int, int]:
            [(messages,)] = rows(a.db, "SELECT count(*) FROM mail_messages")
            [(entries,)] = rows(a.db, "SELECT count(*) FROM imap_metadata")
            return messages, entries

        a.remove_user("bob@a.test")
        assert kept() == (1, 1), "the mail stays, as the Maildir does on SQLite"
        a.add_user("bob@a.test", "pw")
        a.remove_user("bob@a.test", purge=True)
        assert kept() == (0, 0)
    finally:
        mail.close()


def test_import_user_keeps_the_hash_and_scram_keys(nodes: Any, tmp_path: Any) -> None:
    a, _ = nodes
    old = AccountStore.in_data_dir(tmp_path)
    old.add_domain("a.test")
    old.add_user("dan@a.test", "secret", quota=Quota(None, 5))
    row = old._db.one("SELECT password_hash, created FROM users")
    keys = old.scram_credentials("dan@a.test")
    old.close()
    assert row is not None and keys is not None
    a.import_user("dan@a.test", password_hash=row[0], scram=keys, quota=Quota(None, 5),
                  created=row[1])  # fmt: skip
    assert a.verify_password("dan@a.test", "secret")
    assert a.scram_credentials("dan@a.test") == keys
    assert a.get_user("dan@a.test").created == row[1]
    client = sasl.ScramClient("dan@a.test", "secret")
    server = sasl.ScramServer(a.scram_credentials)
    final = server.step(client.initial_response())
    assert isinstance(final, bytes)
    assert isinstance(server.step(client.step(final)), bytes)


def test_a_database_that_is_down_is_store_unavailable() -> None:
    gone = PgAccountStore(
        Database(f"postgresql://mailtool@127.0.0.1:{free_port()}/none", connect_timeout=1)
    )
    try:
        for call in (
            lambda: gone.resolve("a@a.test"),
            lambda: gone.verify_password("a@a.test", "pw"),
            lambda: gone.add_domain("a.test"),
            lambda: gone.scram_mock_salt("x@a.test"),
        ):
            with pytest.raises(StoreUnavailable):
                call()
    finally:
        gone.db.close()
