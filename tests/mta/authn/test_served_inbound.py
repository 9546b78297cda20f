"""The port-25 listener of a real `mailtool serve` runs SPF/DKIM/DMARC before its 250."""

from __future__ import annotations

import smtplib
import time

import pytest

from tests.mta.maildir_view import mailbox_messages

ZONE = [
    'txt-record=good.test,"v=spf1 ip4:127.0.0.1 -all"',
    'txt-record=_dmarc.good.test,"v=DMARC1; p=reject"',
    'txt-record=forged.test,"v=spf1 ip4:192.0.2.1 -all"',
    'txt-record=_dmarc.forged.test,"v=DMARC1; p=reject"',
]


@pytest.fixture
def server(mailtool_server, dns_server):
    dns = dns_server(ZONE)
    srv = mailtool_server(services=("smtp",), config={"dns": {"nameservers": [dns.address]}})
    srv.add_user("bob@local.test")
    return srv


def message(sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: bob@local.test\r\nSubject: hi\r\n"
        "Message-ID: <1@x>\r\nDate: Fri, 27 Nov 2026 20:00:00 +0000\r\n\r\nbody\r\n"
    ).encode()


def inbox_files(srv):
    """bob's messages, on either backend."""
    return mailbox_messages(srv, "bob@local.test")


def test_aligned_spf_passes_and_is_recorded(server):
    with smtplib.SMTP(*server.address("smtp"), local_hostname="client.good.test") as smtp:
        smtp.sendmail("alice@good.test", ["bob@local.test"], message("alice@good.test"))
    for _ in range(100):
        files = inbox_files(server)
        if files:
            break
        time.sleep(0.05)
    assert files, "message not delivered"
    text = files[0]
    header = text.split(b"\r\n\r\n", 1)[0]
    assert b"Authentication-Results: mail.test;" in header
    assert b"spf=pass" in header and b"dmarc=pass" in header


def test_forged_from_with_dmarc_reject_is_refused(server):
    with (
        smtplib.SMTP(*server.address("smtp")) as smtp,
        pytest.raises(smtplib.SMTPDataError) as info,
    ):
        smtp.sendmail("ceo@forged.test", ["bob@local.test"], message("ceo@forged.test"))
    assert info.value.smtp_code == 550
    assert info.value.smtp_error.startswith(b"5.7.1")
    assert inbox_files(server) == []
