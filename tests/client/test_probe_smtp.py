"""The SMTP probe and ``mailtool probe smtp`` against a real Postfix on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.client.probe import Stage
from mailtool.client.probe_smtp import SMTPOptions, probe_smtp
from tests.peers import free_port
from tests.peers.postfix import postfix  # noqa: F401 - fixture


@pytest.fixture
def ca_file(certificate_authority, tmp_path):
    path = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_postfix(postfix, certificate_authority):  # noqa: F811
    return postfix(
        host="127.0.0.2",
        hostname="mx.good.test",
        domains=["good.test"],
        tls=certificate_authority.issue_cert("mx.good.test"),
    )


def probe(pf, **kw):
    return asyncio.run(probe_smtp(pf.host, pf.port, SMTPOptions(**kw)))


def test_starttls_verified_chain_and_capabilities(tls_postfix, ca_file):
    result = probe(tls_postfix, server_name="mx.good.test", cafile=ca_file)
    assert result.ok and result.exit_code == 0
    assert result.greeting.startswith("mx.good.test")
    assert result.hello_name == "mx.good.test"
    assert "STARTTLS" in result.capabilities and "STARTTLS" not in result.tls_capabilities
    assert result.tls.verified and result.tls.version.startswith("TLSv1.")
    assert result.tls.cert.matches("mx.good.test") and not result.tls.cert.matches("other.test")
    kinds = [line.kind for line in result.transcript.lines]
    assert "->" in kinds and "<~" in kinds and "~>" in kinds  # cleartext, then TLS
    assert {"connect", "greeting", "tls", "total"} <= set(result.timings)


def test_untrusted_chain_is_reported_and_the_probe_goes_on(tls_postfix):
    result = probe(tls_postfix, server_name="mx.good.test")
    assert result.ok
    assert not result.tls.verified
    assert "issuer" in result.tls.verify_error or "certificate" in result.tls.verify_error
    assert any("retrying without" in ln.text for ln in result.transcript.lines)


def test_recipient_checks_never_send_data(tls_postfix, ca_file):
    checks = [
        ("postmaster", "", "postmaster@good.test"),
        ("relay", "probe@mailtool.invalid", "someone@example.invalid"),
    ]
    result = probe(tls_postfix, cafile=ca_file, rcpt_checks=checks)
    assert result.replies["postmaster"].startswith("250")
    assert result.replies["relay"].startswith("554")
    assert not any(ln.text == "DATA" for ln in result.transcript.lines)


def test_send_delivers_a_test_message(tls_postfix, ca_file):
    result = probe(
        tls_postfix,
        cafile=ca_file,
        send=True,
        mail_from="a@x.test",
        rcpt_to=["postmaster@good.test"],
    )
    assert result.ok
    assert any("queued as" in ln.text for ln in result.transcript.lines)


@pytest.mark.parametrize(
    ("kw", "stage"),
    [
        ({"send": True, "mail_from": "a@x.test", "rcpt_to": ["nobody@else.test"]}, Stage.RCPT),
        ({"user": "alice", "password": "pw"}, Stage.AUTH),  # Postfix offers no AUTH here
    ],
)
def test_failing_stage_sets_the_exit_code(tls_postfix, ca_file, kw, stage):
    result = probe(tls_postfix, cafile=ca_file, **kw)
    assert result.stage is stage and result.exit_code == int(stage)


def test_mail_from_refused_is_stage_23(postfix):  # noqa: F811
    pf = postfix(
        host="127.0.0.3",
        domains=["good.test"],
        options={"smtpd_sender_restrictions": "reject", "smtpd_delay_reject": "no"},
    )
    result = probe(pf, send=True, mail_from="a@x.test", rcpt_to=["postmaster@good.test"])
    assert result.stage is Stage.MAIL and result.exit_code == 23


def test_starttls_required_but_not_offered_is_stage_29(postfix):  # noqa: F811
    pf = postfix(host="127.0.0.3", domains=["good.test"])
    result = probe(pf, tls="starttls")
    assert result.stage is Stage.TLS and result.exit_code == 29
    assert not result.starttls_offered


def test_connection_refused_is_stage_2():
    result = asyncio.run(probe_smtp("127.0.0.1", free_port(), SMTPOptions()))
    assert result.stage is Stage.CONNECT and result.exit_code == 2


def test_cli_transcript_json_and_exit_codes(tls_postfix, ca_file):
    target = f"{tls_postfix.host}:{tls_postfix.port}"
    runner = CliRunner()
    out = runner.invoke(
        cli, ["probe", "smtp", target, "--cafile", ca_file, "--server-name", "mx.good.test"]
    )
    assert out.exit_code == 0, out.output
    assert "<- 220 mx.good.test" in out.output and "TLSv1." in out.output
    data = json.loads(
        runner.invoke(cli, ["probe", "smtp", target, "--cafile", ca_file, "--json"]).output
    )
    assert data["ok"] and data["tls"]["cert"]["names"] == ["mx.good.test"]
    assert data["transcript"][0]["kind"] == "==="
    failed = runner.invoke(
        cli,
        ["probe", "smtp", target, "--no-tls", "--user", "alice", "--password-stdin"],
        input="s3cret-pw\n",
    )
    assert failed.exit_code == 28
    assert "s3cret-pw" not in failed.output


def test_cli_usage_errors_exit_64():
    runner = CliRunner()
    assert runner.invoke(cli, ["probe", "gopher", "127.0.0.1"]).exit_code == 64
    assert runner.invoke(cli, ["probe", "smtp", "127.0.0.1", "--send"]).exit_code == 64
    assert runner.invoke(cli, ["probe", "smtp", "127.0.0.1:http"]).exit_code == 64
