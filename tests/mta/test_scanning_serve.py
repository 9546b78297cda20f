"""Issue 8 scanning through a real ``mailtool serve`` with Debian's clamd and spamd:
EICAR -> 554 5.7.1 with the signature, GTUBE -> Junk or 550 5.7.1 per the thresholds,
a scanner that is down -> 451 4.7.1."""

from __future__ import annotations

import smtplib

from tests.mda.scanners.conftest import (  # noqa: F401 - the module-scoped scanner fixtures
    EICAR,
    GTUBE,
    SIGNATURE,
    clamd,
    spamd,
)
from tests.mta.maildir_view import mailbox_messages, wait_for_mail
from tests.peers import free_port

ALICE = "alice@local.test"


def data(server, body: bytes) -> tuple[int, bytes]:
    message = b"From: x@other.test\r\nTo: alice@local.test\r\nSubject: scan me\r\n\r\n" + body
    with smtplib.SMTP(*server.address("smtp")) as client:
        client.ehlo("client.other.test")
        client.mail("x@other.test")
        client.rcpt(ALICE)
        return client.data(message + b"\r\n")


def test_clamd_and_spamd_before_the_250(mailtool_server, clamd, spamd):  # noqa: F811
    scan = {"clamd": clamd.address, "spamd": spamd, "reject_threshold": 10000.0}
    server = mailtool_server(services=["smtp"], config={"scan": scan})
    server.add_user(ALICE)

    code, text = data(server, EICAR)
    assert code == 554 and text.startswith(f"5.7.1 virus found: {SIGNATURE}".encode())

    # GTUBE scores 1000: above junk_threshold (5), below this reject_threshold -> Junk
    assert data(server, GTUBE)[0] == 250
    assert data(server, b"A plain note about lunch.")[0] == 250
    (clean,) = wait_for_mail(server, ALICE)
    assert b"X-Spam-Flag: NO" in clean and b"X-Virus-Scanned: clamav" in clean
    (junk,) = mailbox_messages(server, ALICE, ".Junk")
    assert b"X-Spam-Flag: YES" in junk and b"GTUBE" in junk

    # the default reject threshold (15): refused at DATA
    server.stop()
    server.config["scan"] = {**scan, "reject_threshold": 15.0}
    server.start()
    code, text = data(server, GTUBE)
    assert code == 550 and text.startswith(b"5.7.1 message looks like spam")

    # a scanner that is down: the sender retries later
    server.stop()
    server.config["scan"] = {"clamd": f"127.0.0.1:{free_port()}", "timeout": 2.0}
    server.start()
    code, text = data(server, b"Anything.")
    assert code == 451 and text.startswith(b"4.7.1 clamav scanner unavailable")
    assert len(mailbox_messages(server, ALICE)) == 1
