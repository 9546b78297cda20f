"""A running server sees account changes the CLI (another process) makes at once:
its account lookups are cached, but never past a change (AccountStore's cache)."""

from __future__ import annotations

import smtplib
import ssl

import pytest

BOB = "bob@local.test"


def insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rcpt(server, address: str) -> int:
    with smtplib.SMTP(*server.address("smtp"), timeout=30) as c:
        c.ehlo("client.test")
        c.mail("x@other.test")
        code, _ = c.rcpt(address)
        return code


def login(server, user: str, password: str) -> bool:
    with smtplib.SMTP(*server.address("submission"), timeout=30) as c:
        c.starttls(context=insecure())
        try:
            c.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


@pytest.fixture
def server(mailtool_server):
    s = mailtool_server(services=["smtp", "submission"])
    s.add_user("alice@local.test", "alice-pw")
    return s


def test_users_and_aliases_changed_by_the_cli_take_effect_at_the_next_rcpt(server):
    assert rcpt(server, BOB) == 550
    server.cli("user", "add", BOB, "--password-stdin", input="pw\n")
    assert rcpt(server, BOB) == 250
    server.cli("user", "remove", BOB)
    assert rcpt(server, BOB) == 550
    assert rcpt(server, "team@local.test") == 550
    server.cli("alias", "add", "team@local.test", "alice@local.test")
    assert rcpt(server, "team@local.test") == 250
    server.cli("alias", "remove", "team@local.test")
    assert rcpt(server, "team@local.test") == 550


def test_a_password_changed_by_the_cli_takes_effect_at_the_next_login(server):
    assert login(server, "alice@local.test", "alice-pw")
    server.cli("user", "passwd", "alice@local.test", "--password-stdin", input="new-pw\n")
    assert not login(server, "alice@local.test", "alice-pw")
    assert login(server, "alice@local.test", "new-pw")
