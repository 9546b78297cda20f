"""The queue as the one durability point: failed local deliveries stay queued and are retried."""

from __future__ import annotations

import smtplib
import time

from mailtool.mda.deliver import deliver
from mailtool.mta.queue_runner import QueueRunner
from mailtool.mta.service import shared_runner
from tests.mta.fakes import FakeMail

BODY = b"Subject: q\r\n\r\nbody\r\n"


def send(s, rcpts):
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        assert c.sendmail("x@other.test", rcpts, BODY) == {}


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_over_quota_recipient_stays_queued_and_is_retried(smtp_server):
    s = smtp_server()
    s.mail.full.add("bob@local.test")
    send(s, ["alice@local.test", "bob@local.test"])
    (queue_id,) = s.enqueued
    wait_for(lambda: s.queue.get(queue_id).recipient("bob@local.test").last_error)
    entry = s.queue.get(queue_id)
    bob = entry.recipient("bob@local.test")
    assert bob.status == "pending" and bob.last_error.startswith("452 4.2.2")
    assert bob.next_attempt > time.time() + 30  # not hammered: retried later
    assert entry.recipient("alice@local.test").status == "delivered"
    assert list(s.mail.boxes) == ["alice@local.test"]
    # the user makes room; the retry comes due
    s.mail.full.clear()
    s.queue.mark(queue_id, "bob@local.test", "pending", next_attempt=0)
    runner: QueueRunner = shared_runner(s.ctx)  # the one the server built
    s.loop.call_soon_threadsafe(runner.wake)
    s.wait_queue_empty()
    assert {k: len(v) for k, v in s.mail.boxes.items()} == {
        "alice@local.test": 1, "bob@local.test": 1,
    }


def test_database_away_mid_delivery_is_retried_at_once_not_on_the_schedule(smtp_server):
    """The shared database not answering is nobody's mailbox problem: the recipient is
    kept with no attempt counted and delivered as soon as the store answers again (the
    retry schedule would have held it for minutes), both before the 250 and from the
    queue."""
    s = smtp_server()
    s.mail.unavailable = 1  # bob's delivery before the 250 hits the outage
    send(s, ["alice@local.test", "bob@local.test"])
    assert len(s.enqueued) == 1  # bob kept in the queue
    s.wait_queue_empty()
    assert {k: len(v) for k, v in s.mail.boxes.items()} == {
        "alice@local.test": 1, "bob@local.test": 1,
    }
    s.mail.unavailable = 2  # now the runner's own deliveries hit it too
    send(s, ["carol@local.test"])
    s.wait_queue_empty()
    assert len(s.mail.boxes["carol@local.test"]) == 1


def test_message_leaves_the_spool_only_when_every_recipient_is_settled(smtp_server):
    s = smtp_server()
    send(s, ["alice@local.test", "bob@local.test", "carol@local.test"])
    s.wait_queue_empty()
    assert sorted(s.mail.boxes) == ["alice@local.test", "bob@local.test", "carol@local.test"]


def test_deliver_adds_return_path_and_delivered_to():
    mail = FakeMail()
    done = deliver(mail, b"Subject: x\r\n\r\ny\r\n", sender="", recipient="a@b.test")
    assert mail.boxes["a@b.test"] == [
        b"Return-Path: <>\r\nDelivered-To: a@b.test\r\nSubject: x\r\n\r\ny\r\n"
    ]
    assert done.uid == 1 and done.size == len(mail.boxes["a@b.test"][0])
