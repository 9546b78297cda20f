"""Port 25 (inbound): local users and aliases accepted, unknown 550, relay 554, no AUTH."""

from __future__ import annotations

import smtplib

import pytest

MESSAGE = b"From: x@other.test\r\nTo: alice@local.test\r\nSubject: hi\r\n\r\nHello.\r\n.dot\r\n"


def test_local_user_gets_the_message_with_trace_headers(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.other.test")
        assert c.mail("x@other.test") == (250, b"2.1.0 sender ok")
        assert c.rcpt("alice@local.test")[0] == 250
        code, text = c.data(MESSAGE)
        assert code == 250 and text.startswith(b"2.6.0 queued as ")
    queue_id = text.split()[-1].decode()
    s.wait_delivered(1)
    (stored,) = s.mail.boxes["alice@local.test"]
    head, _, _ = stored.partition(b"Subject: hi")
    assert stored.endswith(MESSAGE.split(b"Subject: hi")[1])
    lines = head.split(b"\r\n")
    assert lines[0] == b"Return-Path: <x@other.test>"
    assert lines[1] == b"Delivered-To: alice@local.test"
    assert lines[2] == b"Received: from client.other.test ([127.0.0.1])"
    assert lines[3] == b"\tby mail.test with ESMTP"
    assert lines[4].startswith(b"\tid ") and lines[4].endswith(b" for <alice@local.test>;")
    assert stored.index(b"From: x@other.test") > stored.index(b"Received:")
    # every recipient local: delivered before the 250, under the id the reply names
    assert lines[4].startswith(f"\tid {queue_id} ".encode())
    assert s.enqueued == []
    s.wait_queue_empty()


def test_unknown_local_user_550_and_relay_554_at_rcpt(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        c.mail("x@other.test")
        assert c.rcpt("nobody@local.test") == (550, b"5.1.1 no such user here")
        assert c.rcpt("user@other.test") == (554, b"5.7.1 relay access denied")


@pytest.mark.parametrize(
    "path",
    [
        "<user@other.test>",
        "<alice%other.test@local.test>",
        '<"alice@other.test"@local.test>',
        "<other.test!alice@local.test>",
        "<@local.test:alice@other.test>",
        "<alice@[127.0.0.1]>",
    ],
)
def test_relay_tricks_over_the_wire(smtp_server, path):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<x@other.test>").startswith(b"250")
    assert c.cmd(f"RCPT TO:{path}").startswith(b"554 5.7.1")
    assert c.cmd("DATA").startswith(b"554")  # RFC 2920 §3.1: no valid recipients
    c.close()


@pytest.mark.parametrize("domain", ["LOCAL.TEST", "Local.Test", "local.TEST"])
def test_local_domain_case_variants_are_local(smtp_server, domain):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<x@other.test>")
    assert c.cmd(f"RCPT TO:<alice@{domain}>").startswith(b"250 2.1.5")
    c.close()


@pytest.mark.parametrize("path", ["<alice@local.test.>", "<alice@LOCAL.TEST.>", "<x@other.test.>"])
def test_trailing_dot_variants_are_refused(smtp_server, path):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<x@other.test>")
    assert c.cmd(f"RCPT TO:{path}").startswith(b"501 5.1.3")
    c.close()


def test_no_auth_on_the_inbound_port(smtp_server):
    s = smtp_server()
    c = s.raw()
    assert b"AUTH" not in c.cmd("EHLO client.test")
    assert c.cmd("AUTH PLAIN AGFsaWNlQGxvY2FsLnRlc3QAYWxpY2UtcHc=").startswith(b"502")
    c.cmd("STARTTLS")
    c.close()


def test_three_local_users_and_an_alias_each_get_exactly_one_copy(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        refused = c.sendmail(
            "x@other.test",
            ["alice@local.test", "bob@local.test", "carol@local.test", "team@local.test",
             "ALLY@local.test"],
            MESSAGE,
        )
        assert refused == {}
    s.wait_delivered(3)
    assert {k: len(v) for k, v in s.mail.boxes.items()} == {
        "alice@local.test": 1, "bob@local.test": 1, "carol@local.test": 1,
    }
    # several recipients: no "for <...>" (it would disclose Bcc recipients)
    assert b" for <" not in s.mail.boxes["bob@local.test"][0]


def test_null_sender_bounces_are_accepted_inbound(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        assert c.mail("<>")[0] == 250
        assert c.rcpt("<Postmaster>")[0] == 250
        assert c.data(b"Subject: bounce\r\n\r\nx\r\n")[0] == 250
    s.wait_delivered(1)
    assert s.mail.boxes["postmaster@mail.test"][0].startswith(b"Return-Path: <>\r\n")
