"""``mailtool probe`` stops where it is told (``--quit-after``, as swaks), never
ignores ``--from``/``--to``, fails the stage a silent server was in, makes an
unverified certificate fatal with ``--tls-verify``, and its TLS timing is the one
the transcript shows. Against our own ``mailtool serve`` (self-signed certificate)."""

from __future__ import annotations

import asyncio
import json
import re
import socket

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.client.probe import QUIT_POINTS, ProbeOptions, Stage
from mailtool.client.probe_imap import probe_imap
from mailtool.client.probe_pop3 import probe_pop3
from mailtool.client.probe_smtp import SMTPOptions, probe_smtp
from tests.client.test_probe_mailtool import PASSWORD, USER, server  # noqa: F401 - fixture


def sent(result) -> list[str]:
    """Verbs sent in the last attempt (an unverified certificate makes a second one)."""
    lines = result.transcript.lines
    start = max(i for i, ln in enumerate(lines) if ln.text.startswith("Trying"))
    return [ln.text.split()[0] for ln in lines[start:] if ln.kind in ("->", "~>")]


def smtp(server, **kw):  # noqa: F811
    return asyncio.run(probe_smtp("127.0.0.1", server.port("smtp"), SMTPOptions(**kw)))


@pytest.mark.parametrize(
    ("point", "last_sent"),
    [
        ("connect", None),
        ("banner", None),
        ("ehlo", "EHLO"),
        ("tls", "STARTTLS"),
        ("auth", "EHLO"),  # no --user: it stops where AUTH would be, after EHLO over TLS
    ],
)
def test_smtp_quits_after_each_stage(server, point, last_sent):  # noqa: F811
    result = smtp(server, quit_after=point)
    assert result.ok and result.exit_code == 0 and result.quit_after == point
    words = sent(result)
    if point == "connect":
        assert words == [] and result.greeting == ""
        return
    assert words[-1] == "QUIT"  # a polite goodbye, as swaks
    assert (words[-2] if len(words) > 1 else None) == last_sent
    assert ("MAIL" in words) is False
    if point == "tls":
        assert result.tls is not None and words.count("EHLO") == 1


def test_from_and_to_without_send_run_mail_and_rcpt_then_stop(server):  # noqa: F811
    result = smtp(server, mail_from="x@elsewhere.test", rcpt_to=[USER], quit_after="rcpt")
    assert result.ok, result.transcript.text()
    assert sent(result)[-3:] == ["MAIL", "RCPT", "QUIT"]
    assert result.replies[f"RCPT {USER}"].startswith("250")
    assert "DATA" not in sent(result)


def test_cli_from_to_without_send_is_not_ignored(server):  # noqa: F811
    target = f"127.0.0.1:{server.port('smtp')}"
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["probe", "smtp", target, "--from", "x@elsewhere.test", "--to", USER, "--json"]
    )
    data = json.loads(ok.output)
    assert ok.exit_code == 0 and data["quit_after"] == "rcpt"
    assert [ln["text"].split()[0] for ln in data["transcript"] if ln["kind"] in "->~>"][-3:] == [
        "MAIL",
        "RCPT",
        "QUIT",
    ]
    # an off-domain recipient is refused (no relay): exit 24, as swaks
    refused = runner.invoke(cli, ["probe", "smtp", target, "--to", "v@elsewhere.example"])
    assert refused.exit_code == 24, refused.output
    only_from = runner.invoke(cli, ["probe", "smtp", target, "--from", "x@y.test", "--json"])
    assert json.loads(only_from.output)["quit_after"] == "mail"


@pytest.mark.parametrize(
    "args",
    [
        ["probe", "imap", "127.0.0.1", "--from", "a@b.test"],
        ["probe", "pop3", "127.0.0.1", "--quit-after", "rcpt"],
        ["probe", "smtp", "127.0.0.1", "--quit-after", "mail"],  # MAIL FROM what?
        ["probe", "smtp", "127.0.0.1", "--to", "a@b.test", "--quit-after", "ehlo"],
        ["probe", "smtp", "127.0.0.1", "--send", "--from", "a@b.test", "--to", "c@d.test",
         "--quit-after", "rcpt"],
        ["probe", "smtp", "127.0.0.1", "--quit-after", "data"],
    ],
)  # fmt: skip
def test_contradictory_options_are_usage_errors(args):
    assert CliRunner().invoke(cli, args).exit_code == 64


@pytest.mark.parametrize(
    ("probe", "service", "tls", "bye"),
    [
        (probe_imap, "imaps", "tls", "Q"),
        (probe_imap, "imap", "starttls", "Q"),
        (probe_pop3, "pop3s", "tls", "QUIT"),
    ],
)
def test_imap_and_pop3_quit_after_auth_and_ehlo(server, probe, service, tls, bye):  # noqa: F811
    port = server.port(service)
    opts = ProbeOptions(tls=tls, user=USER, password=PASSWORD, quit_after="auth")
    result = asyncio.run(probe("127.0.0.1", port, opts))
    assert result.ok and result.authenticated and result.quit_after == "auth"
    assert sent(result)[-1] == bye
    early = asyncio.run(probe("127.0.0.1", port, ProbeOptions(tls=tls, quit_after="ehlo")))
    assert early.ok and early.capabilities + early.tls_capabilities
    assert early.authenticated is None


def test_quit_after_points_are_swaks_order():
    assert QUIT_POINTS == ("connect", "banner", "ehlo", "tls", "auth", "mail", "rcpt")
    with pytest.raises(ValueError):
        ProbeOptions(quit_after="data")


def test_a_server_that_never_greets_fails_the_greeting_stage():
    with socket.socket() as listener:  # the kernel completes the handshake; nobody speaks
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result = asyncio.run(probe_smtp("127.0.0.1", port, SMTPOptions(greeting_timeout=0.5)))
        assert result.stage is Stage.GREETING and result.exit_code == 21, result.error
        assert "greeting" in result.error
        out = CliRunner().invoke(cli, ["probe", "pop3", f"127.0.0.1:{port}", "--timeout", "0.5"])
        assert out.exit_code == 21


def test_tls_verify_makes_an_untrusted_certificate_fatal(server):  # noqa: F811
    target = f"127.0.0.1:{server.port('imaps')}"
    runner = CliRunner()
    lenient = runner.invoke(cli, ["probe", "imap", target, "--tls", "--json"])
    assert lenient.exit_code == 0  # reported, and the probe went on without verification
    assert json.loads(lenient.output)["tls"]["verified"] is False
    strict = runner.invoke(cli, ["probe", "imap", target, "--tls", "--tls-verify", "--json"])
    assert strict.exit_code == 29, strict.output
    data = json.loads(strict.output)
    assert data["stage"] == "tls" and "certificate verification failed" in data["error"]
    assert not any("retrying" in ln["text"] for ln in data["transcript"])
    smtp_strict = runner.invoke(
        cli, ["probe", "smtp", f"127.0.0.1:{server.port('smtp')}", "--tls-verify"]
    )
    assert smtp_strict.exit_code == 29


@pytest.mark.parametrize(("service", "tls"), [("imaps", "tls"), ("imap", "starttls")])
def test_tls_timing_is_the_handshake_the_transcript_shows(server, service, tls):  # noqa: F811
    result = asyncio.run(probe_imap("127.0.0.1", server.port(service), ProbeOptions(tls=tls)))
    assert result.ok, result.transcript.text()
    started = next(ln for ln in result.transcript.lines if ln.text.startswith("TLS started"))
    shown = float(re.search(r"handshake ([\d.]+) ms", started.text).group(1))
    assert shown == round(result.timings["tls"] * 1000, 1)
    # the transcript line comes when the handshake has ended, and it began after the connect
    connected = next(ln for ln in result.transcript.lines if ln.text.startswith("Connected"))
    assert started.at - connected.at >= result.timings["tls"]
    assert {"connect", "tls", "greeting", "total"} <= set(result.timings)
