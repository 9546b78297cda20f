"""IMAP and POP3 probes (and ``mailtool probe imap|pop3``) against a real Dovecot."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.client.probe import ProbeOptions, Stage
from mailtool.client.probe_imap import probe_imap
from mailtool.client.probe_pop3 import probe_pop3
from tests.peers.dovecot import dovecot_factory  # noqa: F401 - fixture

PASSWORD = "s3cret-Pw!"


@pytest.fixture
def dovecot(dovecot_factory):  # noqa: F811
    return dovecot_factory(users={"alice": PASSWORD})


def probe(fn, port, **kw):
    return asyncio.run(fn("127.0.0.1", port, ProbeOptions(**kw)))


def test_imap_capabilities_and_login(dovecot):
    result = probe(probe_imap, dovecot.imap_port, user="alice", password=PASSWORD)
    assert result.ok, result.transcript.text()
    assert result.authenticated is True
    assert "IMAP4REV1" in {c.upper() for c in result.capabilities}
    assert result.plaintext_login_before_tls  # Dovecot here: no TLS, no LOGINDISABLED
    assert not result.starttls_offered and result.tls is None
    text = result.transcript.text()
    assert 'LOGIN "alice" ********' in text and PASSWORD not in text


def test_imap_wrong_password_is_stage_28(dovecot):
    result = probe(probe_imap, dovecot.imap_port, user="alice", password="nope")
    assert result.stage is Stage.AUTH and result.exit_code == 28
    assert result.authenticated is False


def test_imap_starttls_required_but_absent_is_stage_29(dovecot):
    result = probe(probe_imap, dovecot.imap_port, tls="starttls")
    assert result.stage is Stage.TLS


def test_pop3_capa_and_login(dovecot):
    result = probe(probe_pop3, dovecot.pop3_port, user="alice", password=PASSWORD)
    assert result.ok, result.transcript.text()
    assert result.authenticated is True
    assert "USER" in {c.split()[0] for c in result.capabilities}
    assert result.plaintext_login_before_tls
    text = result.transcript.text()
    assert "PASS ********" in text and PASSWORD not in text


def test_pop3_wrong_password_is_stage_28(dovecot):
    result = probe(probe_pop3, dovecot.pop3_port, user="alice", password="nope")
    assert result.stage is Stage.AUTH


def test_cli_imap_and_pop3(dovecot):
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "probe",
            "imap",
            f"127.0.0.1:{dovecot.imap_port}",
            "--user",
            "alice",
            "--password-stdin",
            "--json",
        ],
        input=PASSWORD + "\n",
    )
    assert out.exit_code == 0, out.output
    assert PASSWORD not in out.output
    data = json.loads(out.output)
    assert data["authenticated"] is True and data["service"] == "imap"
    out = runner.invoke(
        cli,
        ["probe", "pop3", f"127.0.0.1:{dovecot.pop3_port}", "--user", "alice", "--password-stdin"],
        input="wrong\n",
    )
    assert out.exit_code == 28
    assert "PASS ********" in out.output
