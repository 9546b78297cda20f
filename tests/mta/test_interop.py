"""Interop through a real ``mailtool serve``: smtplib, aiosmtplib, swaks, and a real Postfix
relaying into our port 25. Each message must arrive byte for byte, plus our trace headers."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import subprocess

import aiosmtplib
import pytest

from tests.mta.maildir_view import split_trace, wait_for_mail
from tests.peers import require_tool
from tests.peers.postfix import Postfix

SERVICES = ("smtp", "submission", "submissions")


def message(subject: str) -> bytes:
    # Date and Message-ID present: submission adds nothing, so the bytes must match exactly
    return (
        b"From: Alice <alice@local.test>\r\nTo: bob@local.test\r\n"
        b"Date: Fri, 27 Nov 2026 12:00:00 +0000\r\n"
        b"Message-ID: <" + subject.encode() + b"@client.test>\r\n"
        b"Subject: " + subject.encode() + b"\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Line one\r\n.a leading dot\r\n\xc3\xa5 8-bit\r\n\r\n"
    )


def insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture
def server(mailtool_server):
    srv = mailtool_server(services=SERVICES)
    srv.add_user("alice@local.test", "alice-pw")
    srv.add_user("bob@local.test", "bob-pw")
    return srv


def assert_arrived(srv, rcpt, sent, *, with_, sender="alice@local.test"):
    (stored,) = wait_for_mail(srv, rcpt)
    trace, body = split_trace(stored)
    assert body == sent
    assert trace.startswith(f"Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n".encode())
    assert f"by mail.test with {with_}".encode() in trace


def test_smtplib_inbound(server):
    sent = message("smtplib")
    with smtplib.SMTP(*server.address("smtp")) as c:
        assert c.sendmail("alice@local.test", ["bob@local.test"], sent) == {}
    assert_arrived(server, "bob@local.test", sent, with_="ESMTP")


def test_smtplib_submission_starttls_auth(server):
    sent = message("smtplib-587")
    with smtplib.SMTP(*server.address("submission")) as c:
        c.starttls(context=insecure())
        c.login("alice@local.test", "alice-pw")
        assert c.sendmail("alice@local.test", ["bob@local.test"], sent) == {}
    assert_arrived(server, "bob@local.test", sent, with_="ESMTPSA")


def test_aiosmtplib_implicit_tls_auth(server):
    sent = message("aiosmtplib")

    async def go() -> None:
        host, port = server.address("submissions")
        async with aiosmtplib.SMTP(hostname=host, port=port, use_tls=True,
                                   tls_context=insecure()) as c:
            await c.login("alice@local.test", "alice-pw")
            errors, _ = await c.sendmail("alice@local.test", ["bob@local.test"], sent)
            assert errors == {}

    asyncio.run(go())
    assert_arrived(server, "bob@local.test", sent, with_="ESMTPSA")


def swaks(server, *args: str) -> subprocess.CompletedProcess[str]:
    binary = require_tool("swaks")
    return subprocess.run([binary, "--silent", "1", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.peer
@pytest.mark.parametrize(
    ("name", "service", "extra", "with_"),
    [
        ("plain", "smtp", [], "ESMTP"),
        ("starttls", "smtp", ["--tls"], "ESMTPS"),
        ("pipelining", "smtp", ["--pipeline"], "ESMTP"),
        ("auth", "submission", ["--tls", "--auth", "PLAIN", "--auth-user", "alice@local.test",
                                "--auth-password", "alice-pw"], "ESMTPSA"),
        ("auth-465", "submissions", ["--tls-on-connect", "--auth", "LOGIN", "--auth-user",
                                     "alice@local.test", "--auth-password", "alice-pw"],
         "ESMTPSA"),
    ],
)
def test_swaks(server, tmp_path, name, service, extra, with_):
    sent = message(f"swaks-{name}")
    path = tmp_path / "msg.eml"
    path.write_bytes(sent[:-2])  # swaks always adds a CRLF before the final "."
    host, port = server.address(service)
    run = swaks(server, "--server", host, "--port", str(port), "--from", "alice@local.test",
                "--to", "bob@local.test", "--helo", "swaks.test", "--data", f"@{path}", *extra)
    assert run.returncode == 0, run.stdout + run.stderr
    assert_arrived(server, "bob@local.test", sent, with_=with_)


@pytest.mark.peer
def test_swaks_is_refused_relaying_and_unknown_users(server):
    host, port = server.address("smtp")
    relay = swaks(server, "--server", host, "--port", str(port), "--from", "x@other.test",
                  "--to", "victim@elsewhere.test")
    assert relay.returncode != 0 and "554 5.7.1" in relay.stdout + relay.stderr
    unknown = swaks(server, "--server", host, "--port", str(port), "--from", "x@other.test",
                    "--to", "nobody@local.test")
    assert unknown.returncode != 0 and "550 5.1.1" in unknown.stdout + unknown.stderr


@pytest.mark.peer
def test_postfix_relays_into_our_port_25(server, tmp_path):
    host, port = server.address("smtp")
    options = {
        "mynetworks": "127.0.0.0/8",
        "relayhost": f"[{host}]:{port}",
        "smtp_tls_security_level": "may",
        "smtp_tls_loglevel": "0",
    }
    with_ = "ESMTPS"
    pf = Postfix(hostname="mx.postfix.test", options=options).start()  # its own temp dir
    try:
        sent = message("postfix")
        with smtplib.SMTP(pf.host, pf.port) as c:
            assert c.sendmail("alice@local.test", ["bob@local.test"], sent) == {}
        (stored,) = wait_for_mail(server, "bob@local.test", timeout=60)
    finally:
        pf.stop()
    trace, relayed = split_trace(stored)
    assert b"from mx.postfix.test ([127.0.0.1])" in trace and f"with {with_}".encode() in trace
    # Postfix put its own Received on top; below it, the message exactly as the client sent it
    assert relayed.startswith(b"Received: from ") and b"by mx.postfix.test" in relayed
    lines = relayed.split(b"\r\n")
    end = 1 + next(i for i, line in enumerate(lines[1:]) if not line.startswith((b"\t", b" ")))
    assert b"\r\n".join(lines[end:]) == sent
