"""Acceptance (issue 7, point 6) through real servers: a 550 and a null MX give alice a
DSN in her INBOX, the first of two MX hosts down means the second takes the mail,
and an MX that is down, then comes up, gets the message on a retry."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.two_domains import (
    A_IP,
    B_IP,
    BASE_RECORDS,
    domain_server,
    imap_messages,
    shared_port,
    start_with_users,
    submit,
)

pytestmark = pytest.mark.peer
LATE_IP, DOWN_IP = "127.0.0.5", "127.0.0.4"
RECORDS = [
    *BASE_RECORDS,
    "mx-host=null.test,.,0",
    "mx-host=two.test,mx1.two.test,10",
    f"host-record=mx1.two.test,{DOWN_IP}",
    "mx-host=two.test,mx.b.test,20",
    "mx-host=late.test,mx.late.test,10",
    f"host-record=mx.late.test,{LATE_IP}",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """dnsmasq, a.test's server (alice) and b.test's (bob, and carol@two.test)."""
    from tests.peers.dnsmasq import DnsServer

    root = tmp_path_factory.mktemp("relay")
    dns = DnsServer(root / "dns", RECORDS).start()
    port = shared_port(A_IP, B_IP, LATE_IP, DOWN_IP)
    a = domain_server(root / "a", A_IP, "mx.a.test", port, dns).start()
    b = domain_server(root / "b", B_IP, "mx.b.test", port, dns).start()
    try:
        a.add_user("alice@a.test", "alice-pw")
        b.add_user("bob@b.test", "bob-pw")
        b.add_user("carol@two.test", "carol-pw")
        yield {"dns": dns, "a": a, "b": b, "port": port, "root": root}
    finally:
        a.stop()
        b.stop()
        dns.stop()


def inbox_count(server, user, password):
    return len(imap_messages(server, user, password, count=0))


def test_550_from_the_mx_gives_alice_a_dsn(world):
    before = inbox_count(world["a"], "alice@a.test", "alice-pw")
    submit(world["a"], "alice@a.test", "alice-pw", ["nobody@b.test"], "to nobody")
    msgs = imap_messages(world["a"], "alice@a.test", "alice-pw", count=before + 1)
    dsn = msgs[-1]
    assert dsn.get_content_type() == "multipart/report"
    assert dsn["Subject"] == "Undelivered Mail Returned to Sender"
    _, status, headers = dsn.get_payload()
    text = status.as_bytes().decode()
    assert "Final-Recipient: rfc822; nobody@b.test" in text and "Status: 5.1.1" in text
    assert "Remote-MTA: dns; mx.b.test" in text and "Diagnostic-Code: smtp; 550" in text
    assert b"Subject: to nobody" in headers.get_payload(decode=True)
    assert dsn["Return-Path"] == "<>"  # a null sender: nobody bounces a bounce
    assert world["a"].cli("queue", "list", "--json").stdout.strip() == "[]"


def test_null_mx_bounces_at_once(world):
    before = inbox_count(world["a"], "alice@a.test", "alice-pw")
    submit(world["a"], "alice@a.test", "alice-pw", ["someone@null.test"], "to null")
    msgs = imap_messages(world["a"], "alice@a.test", "alice-pw", count=before + 1)
    text = msgs[-1].get_payload()[1].as_bytes().decode()
    assert "Final-Recipient: rfc822; someone@null.test" in text and "Status: 5.1.10" in text
    assert "Remote-MTA" not in text  # no host was ever contacted (RFC 7505 §4.2)


def test_first_mx_down_second_takes_it(world):
    submit(world["a"], "alice@a.test", "alice-pw", ["carol@two.test"], "to carol")
    (got,) = imap_messages(world["b"], "carol@two.test", "carol-pw")
    assert got["Subject"] == "to carol"


def test_mx_down_then_up_delivered_on_retry(world, tmp_path):
    a = world["a"]
    submit(a, "alice@a.test", "alice-pw", ["dave@late.test"], "to dave")
    # it waits in the queue with the reason, retried every second (FAST_QUEUE)
    deadline = time.monotonic() + 30
    while True:
        entries = json.loads(a.cli("queue", "list", "--json").stdout)
        rcpts = [r for e in entries for r in e["recipients"] if r["address"] == "dave@late.test"]
        if rcpts and rcpts[0]["attempts"] >= 2:
            break
        assert time.monotonic() < deadline, a.log()
        time.sleep(0.2)
    assert rcpts[0]["status"] == "pending" and "cannot connect" in rcpts[0]["last_error"]
    late = domain_server(tmp_path / "late", LATE_IP, "mx.late.test", world["port"], world["dns"])
    start_with_users(late, {"dave@late.test": "dave-pw"})
    try:
        (got,) = imap_messages(late, "dave@late.test", "dave-pw")
        assert got["Subject"] == "to dave"
    finally:
        late.stop()
