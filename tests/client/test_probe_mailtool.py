"""`mailtool probe` against our own `mailtool serve`: every service answers like a server
that follows the RFCs (TLS before passwords, logins work, wrong passwords fail)."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.client.probe import ProbeOptions, Stage
from mailtool.client.probe_imap import probe_imap
from mailtool.client.probe_pop3 import probe_pop3
from mailtool.client.probe_smtp import SMTPOptions, probe_smtp

USER, PASSWORD = "alice@probe.test", "pw-for-probe"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.harness import MailtoolServer

    srv = MailtoolServer(tmp_path_factory.mktemp("probe-serve")).start()
    srv.add_user(USER, PASSWORD)
    yield srv
    assert srv.stop() == 0


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize(("service", "tls"), [("imap", "starttls"), ("imaps", "tls")])
def test_imap_login_after_tls(server, service, tls):
    result = run(probe_imap("127.0.0.1", server.port(service),
                            ProbeOptions(tls=tls, user=USER, password=PASSWORD)))
    assert result.ok and result.authenticated, result.transcript.text()
    assert result.tls is not None
    assert not result.plaintext_login_before_tls
    assert PASSWORD not in result.transcript.text()
    caps = {c.upper() for c in (result.tls_capabilities or result.capabilities)}
    assert {"IMAP4REV2", "IDLE", "UIDPLUS"} <= caps


@pytest.mark.parametrize(("service", "tls"), [("pop3", "starttls"), ("pop3s", "tls")])
def test_pop3_login_after_tls(server, service, tls):
    result = run(probe_pop3("127.0.0.1", server.port(service),
                            ProbeOptions(tls=tls, user=USER, password=PASSWORD)))
    assert result.ok and result.authenticated, result.transcript.text()
    assert not result.plaintext_login_before_tls


def test_wrong_password_is_the_auth_stage(server):
    result = run(probe_imap("127.0.0.1", server.port("imaps"),
                            ProbeOptions(tls="tls", user=USER, password="wrong")))
    assert result.stage is Stage.AUTH and result.exit_code == 28


def test_smtp_and_submission(server):
    smtp = run(probe_smtp("127.0.0.1", server.port("smtp"), SMTPOptions(helo="probe.test")))
    assert smtp.ok and smtp.starttls_offered, smtp.transcript.text()
    sub = run(probe_smtp("127.0.0.1", server.port("submissions"),
                         SMTPOptions(tls="tls", user=USER, password=PASSWORD, helo="probe.test"),
                         service="submission"))
    assert sub.ok and sub.authenticated, sub.transcript.text()
