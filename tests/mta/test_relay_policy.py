"""The no-open-relay rule as a table: every classic relay trick, judged without a socket."""

from __future__ import annotations

import pytest

from mailtool.mta.relay_policy import decide_recipient, sender_allowed
from mailtool.protocol.smtp import SMTPProtocolError, parse_path
from tests.mta.fakes import FakeAccounts


@pytest.fixture
def accounts(tmp_path):
    acc = FakeAccounts(tmp_path)
    acc.add_user("user@local.test")
    acc.add_user("postmaster@local.test")
    acc.aliases["team@local.test"] = ["user@local.test", "user@local.test"]
    return acc


def judge(accounts, path: str, *, authenticated: bool = False):
    return decide_recipient(
        parse_path(path),
        authenticated=authenticated,
        accounts=accounts,
        postmaster="postmaster@local.test",
    )


RELAY_TRICKS = [
    "<user@other.test>",
    "<user%other.test@local.test>",
    '<"user@other.test"@local.test>',
    "<other.test!user@local.test>",
    "<@local.test:user@other.test>",
    "<@LOCAL.TEST:user@other.test>",
    '<"user%other.test"@local.test>',
    "<user@[127.0.0.1]>",
    "<user@[IPv6:::1]>",
    "<user@local.test.other.test>",
    "<user@other.test.local>",
]


@pytest.mark.parametrize("path", RELAY_TRICKS)
def test_relay_tricks_are_denied_for_unauthenticated_clients(accounts, path):
    decision = judge(accounts, path)
    assert not decision.accepted
    assert (decision.reply.code, decision.reply.enhanced) == (554, "5.7.1")
    assert decision.mailboxes == () and decision.remote is None


@pytest.mark.parametrize("path", RELAY_TRICKS[1:4])
def test_route_characters_are_refused_even_when_authenticated(accounts, path):
    decision = judge(accounts, path, authenticated=True)
    assert decision.reply.code == 554 and decision.remote is None


@pytest.mark.parametrize("path", ["<user@local.test.>", "<user@LOCAL.test.>", "<u@other.test.>"])
def test_trailing_dot_domains_are_a_syntax_error_not_a_relay(path):
    with pytest.raises(SMTPProtocolError) as info:
        parse_path(path)
    assert info.value.reply.code == 501


@pytest.mark.parametrize(
    "path", ["<user@local.test>", "<user@LOCAL.TEST>", "<user@Local.Test>", "<USER@local.test>"]
)
def test_local_domain_in_any_case_is_local(accounts, path):
    decision = judge(accounts, path)
    assert decision.accepted and decision.mailboxes == ("user@local.test",)
    assert decision.reply.enhanced == "2.1.5"


def test_unknown_local_user_is_550_5_1_1(accounts):
    decision = judge(accounts, "<nobody@local.test>")
    assert (decision.reply.code, decision.reply.enhanced) == (550, "5.1.1")


def test_alias_is_resolved_at_rcpt_without_duplicates(accounts):
    assert judge(accounts, "<team@local.test>").mailboxes == ("user@local.test",)


def test_bare_postmaster_is_accepted(accounts):
    decision = judge(accounts, "<Postmaster>")
    assert decision.accepted and decision.mailboxes == ("postmaster@local.test",)


def test_bare_postmaster_falls_back_to_the_parent_domain(accounts):
    from mailtool.mta.service import postmaster_addresses

    candidates = postmaster_addresses("mail.local.test")
    assert candidates == ("postmaster@mail.local.test", "postmaster@local.test")
    decision = decide_recipient(
        parse_path("<Postmaster>"), authenticated=False, accounts=accounts, postmaster=candidates
    )
    assert decision.mailboxes == ("postmaster@local.test",)


def test_authenticated_clients_relay_to_other_domains(accounts):
    decision = judge(accounts, "<someone@other.test>", authenticated=True)
    assert decision.accepted and decision.remote == "someone@other.test"


def test_sender_must_be_the_users_own_address_or_alias(accounts):
    accounts.aliases["me@local.test"] = ["user@local.test"]
    ok = [parse_path(p, reverse=True) for p in ("<user@local.test>", "<ME@local.test>")]
    assert all(sender_allowed(s, "user@local.test", accounts) for s in ok)
    bad = [
        None,
        parse_path("<postmaster@local.test>", reverse=True),
        parse_path("<user@other.test>", reverse=True),
        parse_path('<"user@local.test"@other.test>', reverse=True),
    ]
    assert not any(sender_allowed(s, "user@local.test", accounts) for s in bad)
