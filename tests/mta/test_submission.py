"""Submission (587 STARTTLS, 465 implicit TLS): AUTH after TLS only, sender checks, fix-ups."""

from __future__ import annotations

import base64
import smtplib
import time

import pytest

from mailtool.protocol.sasl import ScramClient
from tests.mta.conftest import client_tls

BODY = b"From: alice@local.test\r\nSubject: s\r\n\r\nbody\r\n"


def submit(s, kind="submission"):
    if kind == "submissions":
        c = smtplib.SMTP_SSL("127.0.0.1", s.ports[kind], context=client_tls())
    else:
        c = smtplib.SMTP("127.0.0.1", s.ports[kind])
        c.starttls(context=client_tls())
    c.ehlo("laptop.test")
    return c


def test_no_auth_before_tls_on_587(smtp_server):
    s = smtp_server()
    c = s.raw("submission")
    ehlo = c.cmd("EHLO laptop.test")
    assert b"STARTTLS" in ehlo and b"AUTH" not in ehlo
    plain = base64.b64encode(b"\0alice@local.test\0alice-pw").decode()
    assert c.cmd(f"AUTH PLAIN {plain}").startswith(b"538 5.7.11")


def test_every_rcpt_without_auth_is_530(smtp_server):
    s = smtp_server()
    for kind in ("submission", "submissions"):
        c = s.raw(kind, tls=kind == "submissions")
        c.cmd("EHLO laptop.test")
        assert c.cmd("MAIL FROM:<alice@local.test>").startswith(b"530 5.7.0")
        assert c.cmd("RCPT TO:<alice@local.test>").startswith(b"530 5.7.0")
        assert c.cmd("RCPT TO:<x@other.test>").startswith(b"530 5.7.0")


@pytest.mark.parametrize("kind", ["submission", "submissions"])
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_auth_then_send_to_local_and_remote(smtp_server, kind, mech):
    s = smtp_server()
    with submit(s, kind) as c:
        assert "PLAIN" in c.esmtp_features["auth"] and "SCRAM-SHA-256" in c.esmtp_features["auth"]
        c.user, c.password = "alice@local.test", "alice-pw"
        code, _ = c.auth(mech, getattr(c, "auth_" + mech.lower()))
        assert code == 235
        assert c.sendmail("alice@local.test", ["bob@local.test", "friend@other.test"], BODY) == {}
    s.wait_delivered(1)
    stored = s.mail.boxes["bob@local.test"][0]
    assert b"with ESMTPSA" in stored
    deadline = time.monotonic() + 10
    while s.queue.get(s.enqueued[0]).recipient("friend@other.test").last_error is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (entry,) = s.queue.list()  # the remote recipient waits: no resolver answers here
    remote = entry.recipient("friend@other.test")
    assert remote.status == "pending" and "4.4.3" in remote.last_error
    assert entry.recipient("bob@local.test").status == "delivered"
    assert entry.metadata["remote"] == ["friend@other.test"]
    assert entry.metadata["local"] == ["bob@local.test"]
    assert entry.metadata["user"] == "alice@local.test"


def test_scram_sha_256(smtp_server):
    s = smtp_server()
    c = s.raw("submissions", tls=True)
    c.cmd("EHLO laptop.test")
    client = ScramClient("alice@local.test", "alice-pw")
    first = base64.b64encode(client.initial_response()).decode()
    reply = c.cmd(f"AUTH SCRAM-SHA-256 {first}")
    assert reply.startswith(b"334 ")
    final = client.step(base64.b64decode(reply[4:].strip()))
    reply = c.cmd(base64.b64encode(final))
    assert reply.startswith(b"334 ")
    client.step(base64.b64decode(reply[4:].strip()))  # verifies the server's signature
    assert c.cmd("").startswith(b"235 2.7.0")
    assert c.cmd("MAIL FROM:<alice@local.test>").startswith(b"250")


def test_sender_must_be_the_users_own_address_or_alias(smtp_server):
    s = smtp_server()
    with submit(s) as c:
        c.login("alice@local.test", "alice-pw")
        assert c.mail("bob@local.test") == (553, b"5.7.1 <bob@local.test> is not an address "
                                                 b"of alice@local.test")
        assert c.mail("<>")[0] == 553
        assert c.mail("ally@local.test")[0] == 250  # alias that is only alice's
        c.rset()
        assert c.mail("ALICE@local.test")[0] == 250


def test_wrong_password_is_535_then_throttled(smtp_server):
    s = smtp_server()
    def plain(password: bytes) -> str:
        return "PLAIN " + base64.b64encode(b"\0alice@local.test\0" + password).decode()

    with submit(s) as c:
        for _ in range(3):
            assert c.docmd("AUTH", plain(b"wrong")) == (535, b"5.7.8 authentication failed")
        # three failures from this IP: further attempts are refused for a while
        code, text = c.docmd("AUTH", plain(b"alice-pw"))
        assert code == 454 and text.startswith(b"4.7.0")


def test_plaintext_auth_on_loopback_when_configured(smtp_server):
    s = smtp_server(security={"plaintext_auth_on_loopback": True})
    with smtplib.SMTP("127.0.0.1", s.ports["submission"]) as c:
        c.ehlo("laptop.test")
        assert c.has_extn("auth")
        c.login("alice@local.test", "alice-pw")
        assert c.sendmail("alice@local.test", ["bob@local.test"], BODY) == {}


def test_message_id_and_date_are_added_on_submission_only_when_missing(smtp_server):
    s = smtp_server()
    with submit(s) as c:
        c.login("alice@local.test", "alice-pw")
        c.sendmail("alice@local.test", ["bob@local.test"], BODY)
        kept = b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n" + BODY
        c.sendmail("alice@local.test", ["carol@local.test"], kept)
    s.wait_delivered(2)
    added = s.mail.boxes["bob@local.test"][0]
    head = added.split(b"\r\n\r\n")[0]
    assert b"\r\nDate: " in head and b"\r\nMessage-ID: <" in head and head.endswith(b"@mail.test>")
    assert s.mail.boxes["carol@local.test"][0].endswith(kept)


def test_inbound_port_does_not_add_message_id(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.sendmail("x@other.test", ["bob@local.test"], BODY)
    s.wait_delivered(1)
    assert b"Message-ID" not in s.mail.boxes["bob@local.test"][0]


def test_auth_before_starttls_is_forgotten_after_it(smtp_server):
    # RFC 3207 §4.2: nothing the client said in clear survives the TLS handshake
    s = smtp_server(security={"plaintext_auth_on_loopback": True})
    c = s.raw("submission")
    c.cmd("EHLO laptop.test")
    plain = base64.b64encode(b"\0alice@local.test\0alice-pw").decode()
    assert c.cmd(f"AUTH PLAIN {plain}").startswith(b"235")
    assert c.cmd("STARTTLS").startswith(b"220")
    c.sock = client_tls().wrap_socket(c.sock, server_hostname="mail.test")
    c.cmd("EHLO laptop.test")
    assert c.cmd("MAIL FROM:<alice@local.test>").startswith(b"530 5.7.0")
