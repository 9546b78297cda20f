"""Issue 8 through a real ``mailtool serve``: Sieve at delivery (fileinto, reject -> DSN,
vacation once, redirect), quotas at RCPT and in the queue."""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable
from pathlib import Path

from tests.harness import MailtoolServer
from tests.mta.maildir_view import mailbox_messages

SCRIPT = """\
require ["fileinto", "reject", "vacation"];
if header :contains "Subject" "report" { fileinto "Work"; stop; }
if header :contains "Subject" "offer" { reject "no offers, thanks"; stop; }
if header :contains "Subject" "forward" { redirect "bob@local.test"; stop; }
vacation :days 7 :subject "Away" "I am away until Monday.";
"""
FAST_QUEUE = {"retry_first": 0.2, "retry_factor": 1.0, "retry_max": 0.2, "poll_interval": 0.2}


def wait_until(what: Callable[[], object], server: MailtoolServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached\n{server.log()[-4000:]}")
        time.sleep(0.05)


def send(server: MailtoolServer, sender: str, rcpt: str, subject: str, body: str = "Hi.") -> None:
    message = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    with smtplib.SMTP(*server.address("smtp")) as client:  # no SIZE= (sendmail would send it)
        client.ehlo("client.test")
        assert client.mail(sender)[0] == 250
        assert client.rcpt(rcpt)[0] == 250
        assert client.data(message.encode())[0] == 250


def files(server: MailtoolServer, address: str, folder: str = "") -> list[bytes]:
    return mailbox_messages(server, address, folder)


def queue_empty(server: MailtoolServer) -> bool:
    return server.cli("queue", "list", "--json").stdout.strip() == "[]"


def test_sieve_script_set_with_the_cli_runs_at_delivery(mailtool_server, tmp_path: Path):
    server = mailtool_server(services=["smtp"], config={"queue": FAST_QUEUE})
    for user in ("alice", "bob", "carol", "dave"):
        server.add_user(f"{user}@local.test")
    (tmp_path / "alice.sieve").write_text(SCRIPT)
    server.cli("sieve", "set", "alice@local.test", str(tmp_path / "alice.sieve"))

    send(server, "carol@local.test", "alice@local.test", "Quarterly report")
    send(server, "carol@local.test", "alice@local.test", "hello")
    send(server, "carol@local.test", "alice@local.test", "hello again")
    send(server, "dave@local.test", "alice@local.test", "A great offer")
    send(server, "carol@local.test", "alice@local.test", "please forward")

    # fileinto: Work, not INBOX
    wait_until(lambda: files(server, "alice@local.test", ".Work"), server)
    assert b"Subject: Quarterly report" in files(server, "alice@local.test", ".Work")[0]
    # redirect: bob gets it, with alice's Delivered-To marking the hop (loop check)
    wait_until(lambda: files(server, "bob@local.test"), server)
    (forwarded,) = files(server, "bob@local.test")
    assert b"Subject: please forward" in forwarded
    assert forwarded.startswith(b"Return-Path: <carol@local.test>\r\nDelivered-To: bob@local.test")
    assert b"\r\nDelivered-To: alice@local.test\r\n" in forwarded
    # reject: dave gets a DSN (null sender) with 5.7.1 and the script's reason
    wait_until(lambda: files(server, "dave@local.test"), server)
    (dsn,) = files(server, "dave@local.test")
    assert dsn.startswith(b"Return-Path: <>")
    assert b"5.7.1" in dsn and b"no offers, thanks" in dsn
    # vacation: one reply to carol for her two plain messages, from <>
    wait_until(lambda: len(files(server, "alice@local.test")) == 2, server)
    wait_until(lambda: queue_empty(server), server)
    (reply,) = files(server, "carol@local.test")
    assert reply.startswith(b"Return-Path: <>") and b"Subject: Away" in reply
    assert b"I am away until Monday." in reply
    inbox = b"".join(files(server, "alice@local.test"))
    assert b"offer" not in inbox and b"forward" not in inbox


def test_quota_at_rcpt_and_in_the_queue(mailtool_server):
    server = mailtool_server(
        services=["smtp"], config={"queue": {**FAST_QUEUE, "max_lifetime": 8.0}}
    )
    for user in ("bob", "carol", "erin", "sender"):
        server.add_user(f"{user}@local.test")
    # a full mailbox: 552 5.2.2 at RCPT
    server.cli("user", "quota", "bob@local.test", "--messages", "1")
    send(server, "sender@local.test", "bob@local.test", "first")
    wait_until(lambda: files(server, "bob@local.test"), server)
    with smtplib.SMTP(*server.address("smtp")) as client:
        client.ehlo("client.test")
        client.mail("sender@local.test")
        assert client.rcpt("bob@local.test") == (552, b"5.2.2 bob@local.test: mailbox full")
    (bob,) = [u for u in json.loads(server.cli("user", "list", "--json").stdout)
              if u["address"] == "bob@local.test"]  # fmt: skip
    assert (bob["messages"], bob["quota_messages"]) == (1, 1)

    # room at RCPT, not for this message: kept in the queue, retried, delivered once raised
    server.cli("user", "quota", "carol@local.test", "--storage", "1K")
    with smtplib.SMTP(*server.address("smtp")) as client:  # a declared size that cannot fit
        client.ehlo("client.test")
        client.mail("sender@local.test", ["SIZE=4000"])
        assert client.rcpt("carol@local.test")[0] == 552
    send(server, "sender@local.test", "carol@local.test", "big", "x" * 4000)
    wait_until(lambda: "4.2.2" in server.log() and "carol@local.test" in server.log(), server)
    assert files(server, "carol@local.test") == []
    server.cli("user", "quota", "carol@local.test", "--storage", "none")
    wait_until(lambda: files(server, "carol@local.test"), server)
    assert b"Subject: big" in files(server, "carol@local.test")[0]

    # never room: bounced when the queue's lifetime ends (4.4.7 -> 5.4.7 DSN to the sender)
    server.cli("user", "quota", "erin@local.test", "--storage", "1K")
    send(server, "sender@local.test", "erin@local.test", "never fits", "x" * 4000)
    wait_until(lambda: any(b"Return-Path: <>" in m for m in files(server, "sender@local.test")),
               server)  # fmt: skip
    dsn = next(m for m in files(server, "sender@local.test") if b"Return-Path: <>" in m)
    assert b"5.4.7" in dsn and b"erin@local.test" in dsn
    assert files(server, "erin@local.test") == []
