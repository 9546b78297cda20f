"""The account stores remember lookups, but never past a change: its own, or one another
connection commits (the CLI in another process on the same file; on PostgreSQL, another
node on the same database: both backends run every test)."""

from __future__ import annotations

import pytest

from mailtool.errors import NotFound
from mailtool.store.accounts import Quota


@pytest.fixture
def pair(open_accounts):
    """Two stores on one set of accounts: the server's and the CLI's (or two nodes')."""
    server = open_accounts()
    cli = open_accounts()
    cli.add_domain("a.test")
    return server, cli


def test_a_user_added_or_removed_elsewhere_is_seen_at_once(pair):
    server, cli = pair
    assert server.resolve("bob@a.test") == []
    with pytest.raises(NotFound):
        server.get_user("bob@a.test")
    cli.add_user("bob@a.test", "pw")
    assert server.resolve("bob@a.test") == ["bob@a.test"]
    assert server.get_user("bob@a.test").address == "bob@a.test"
    cli.remove_user("bob@a.test")
    assert server.resolve("bob@a.test") == []
    with pytest.raises(NotFound):
        server.get_user("bob@a.test")


def test_aliases_domains_and_quotas_changed_elsewhere_are_seen_at_once(pair):
    server, cli = pair
    cli.add_user("bob@a.test", "pw")
    assert server.resolve("team@a.test") == []
    cli.add_alias("team@a.test", ["bob@a.test", "x@remote.test"])
    assert server.resolve("team@a.test") == ["bob@a.test", "x@remote.test"]
    cli.remove_alias("team@a.test", ["x@remote.test"])
    assert server.resolve("team@a.test") == ["bob@a.test"]
    assert server.get_user("bob@a.test").quota == Quota()
    cli.set_quota("bob@a.test", Quota(100, 2))
    assert server.get_user("bob@a.test").quota == Quota(100, 2)
    assert server.is_local_domain("b.test") is False
    cli.add_domain("b.test")
    assert server.is_local_domain("b.test") is True
    assert server.resolve("x@b.test") == []
    cli.remove_domain("b.test")
    assert server.is_local_domain("b.test") is False
    assert server.resolve("x@b.test") is None


def test_own_writes_are_seen_at_once(pair):
    server, _ = pair
    assert server.resolve("carol@a.test") == []
    server.add_user("carol@a.test", "pw")
    assert server.resolve("carol@a.test") == ["carol@a.test"]
    server.add_alias("@a.test", ["carol@a.test"])
    assert server.resolve("nobody@a.test") == ["carol@a.test"]
    server.remove_alias("@a.test")
    assert server.resolve("nobody@a.test") == []


def test_a_caller_cannot_change_a_remembered_answer(pair):
    server, cli = pair
    cli.add_user("bob@a.test", "pw")
    server.resolve("bob@a.test").append("evil@x.test")
    assert server.resolve("bob@a.test") == ["bob@a.test"]


def test_a_password_changed_elsewhere_takes_effect_at_once(pair):
    server, cli = pair
    cli.add_user("bob@a.test", "old")
    assert server.verify_password("bob@a.test", "old")
    old_scram = server.scram_credentials("bob@a.test")
    cli.set_password("bob@a.test", "new")
    assert not server.verify_password("bob@a.test", "old")
    assert server.verify_password("bob@a.test", "new")
    assert server.scram_credentials("bob@a.test") != old_scram
    cli.remove_user("bob@a.test")
    assert not server.verify_password("bob@a.test", "new")
    assert server.scram_credentials("bob@a.test") is None
