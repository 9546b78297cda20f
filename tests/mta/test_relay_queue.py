"""mailtool.mta.relay on a real spool: what each outcome does to the queue, the expiry
bounce, the delay notice, and no bounce for a null sender (a smart host on loopback,
so no DNS is involved)."""

from __future__ import annotations

import asyncio
import dataclasses
import email

from mailtool import config as config_mod
from mailtool.mta.relay import Relay
from mailtool.store.queue import Queue
from tests.mta.relay_sink import Sink
from tests.peers import free_port

MESSAGE = b"From: alice@a.test\r\nTo: x@b.test\r\nSubject: hello\r\n\r\nbody\r\n"


def make(tmp_path, port, **queue_cfg):
    cfg = config_mod.from_dict(
        {
            "hostname": "mx.a.test",
            "relay": {"host": "127.0.0.1", "port": port, "tls": "none"},
            "outbound": {"connect_timeout": 5, "timeout": 10},
            "queue": queue_cfg,
        }
    )
    queue = Queue(tmp_path / "queue")
    return queue, Relay(cfg, queue=lambda: queue)


def enqueue(queue, sender, rcpts):
    return queue.enqueue(sender, rcpts, MESSAGE, metadata={"local": [], "remote": rcpts}).id


def notices(queue):
    return [e for e in queue.list() if e.metadata.get("notice")]


def test_outcomes_are_recorded_and_a_bounce_is_queued(tmp_path):
    replies = {"gone@b.test": "550 5.1.1 no such user", "busy@b.test": "450 4.2.1 busy"}
    with Sink(rcpt_replies=replies) as sink:
        queue, relay = make(tmp_path, sink.port, retry_first=600.0)
        qid = enqueue(queue, "alice@a.test", ["ok@b.test", "gone@b.test", "busy@b.test"])
        asyncio.run(relay.process(qid))
    entry = queue.get(qid)
    assert entry.recipient("ok@b.test").status == "delivered"
    assert entry.recipient("gone@b.test").status == "bounced"
    busy = entry.recipient("busy@b.test")
    assert busy.status == "pending" and busy.next_attempt - entry.created >= 600
    (dsn,) = notices(queue)
    assert dsn.sender == "" and [r.address for r in dsn.recipients] == ["alice@a.test"]
    # the queue runner's crash recovery finds a delivered copy by this id
    assert f"\r\n\tid {dsn.metadata['trace_id']};".encode() in dsn.read_message()
    report = email.message_from_bytes(dsn.read_message())
    assert "gone@b.test" in report.get_payload()[1].as_string()
    assert "busy@b.test" not in report.get_payload()[1].as_string()


def test_last_deferral_after_the_lifetime_bounces_as_expired(tmp_path):
    queue, relay = make(tmp_path, free_port())
    qid = enqueue(queue, "alice@a.test", ["x@b.test"])
    relay.policy = dataclasses.replace(relay.policy, lifetime=0.0)  # expired on arrival
    asyncio.run(relay.process(qid))
    assert qid not in queue.ids()  # settled (bounced) and removed
    (dsn,) = notices(queue)
    status = email.message_from_bytes(dsn.read_message()).get_payload()[1].as_string()
    assert "Status: 5.4.7" in status and "cannot connect" in status


def test_null_sender_is_dropped_without_a_bounce(tmp_path):
    with Sink(rcpt_replies={"x@b.test": "550 5.1.1 no"}) as sink:
        queue, relay = make(tmp_path, sink.port)
        qid = enqueue(queue, "", ["x@b.test"])
        asyncio.run(relay.process(qid))
    assert queue.ids() == []  # no DSN about a DSN (RFC 5321 §6.1), and the entry is gone


def test_one_delay_notice_after_delay_warning(tmp_path):
    queue, relay = make(tmp_path, free_port(), delay_warning=0.001, retry_first=0.1)
    qid = enqueue(queue, "alice@a.test", ["x@b.test"])
    asyncio.run(relay.process(qid))
    asyncio.run(relay.process(qid))  # a second pass sends no second notice
    (notice,) = notices(queue)
    msg = email.message_from_bytes(notice.read_message())
    assert "Delayed Mail" in msg["Subject"] and "Action: delayed" in msg.as_string()
    assert queue.get(qid).recipient("x@b.test").status == "pending"


def test_unreadable_smart_host_password_defers_with_the_reason(tmp_path):
    cfg = config_mod.from_dict(
        {
            "hostname": "mx.a.test",
            "relay": {
                "host": "127.0.0.1",
                "port": free_port(),
                "username": "me",
                "password_file": str(tmp_path / "missing.pw"),
            },
        }
    )
    queue = Queue(tmp_path / "queue")
    qid = enqueue(queue, "alice@a.test", ["x@b.test"])
    asyncio.run(Relay(cfg, queue=lambda: queue).process(qid))
    state = queue.get(qid).recipient("x@b.test")
    assert state.status == "pending" and "4.3.5" in state.last_error
    assert "missing.pw" in state.last_error
