"""Latency bugs, bounded in tests (issue 22 point 1).

A timing in a test is normally a benchmark (bench/). This one is a correctness bound on a
latency *bug*: with a synchronizing literal the client writes the literal and then its CRLF
as a second small write, which its Nagle algorithm holds until we ACK the literal; the
kernel's delayed ACK made that ~40 ms per APPEND (23 msg/s with Python's imaplib against
Dovecot's 459). Without the bug an APPEND takes a few ms even on a loaded machine, so the
40 ms average bound only fails when the stall is back.
"""

from __future__ import annotations

import imaplib
import time

import pytest


@pytest.fixture
def server(mailtool_server):  # on each store backend (MAILTOOL_STORE_BACKENDS)
    srv = mailtool_server(services=("imap",),
                          config={"security": {"plaintext_auth_on_loopback": True}})
    srv.add_user("alice@example.test", "pw")
    return srv


def test_imaplib_appends_do_not_wait_for_a_delayed_ack(server):
    imap = imaplib.IMAP4("127.0.0.1", server.port("imap"))
    imap.login("alice@example.test", "pw")
    message = b"Subject: latency\r\n\r\n" + b"x" * 2000 + b"\r\n"
    imap.append("INBOX", None, None, message)  # warm: the first one opens the folder
    started = time.perf_counter()
    for _ in range(20):
        assert imap.append("INBOX", None, None, message)[0] == "OK"
    each = (time.perf_counter() - started) / 20
    imap.logout()
    assert each < 0.040, f"{each * 1000:.1f} ms per APPEND: the delayed-ACK stall is back"
