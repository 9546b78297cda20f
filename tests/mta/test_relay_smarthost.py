"""Acceptance (issue 7, points 3 and 4) through a real ``mailtool serve``: every outbound
message goes via the smart host (STARTTLS, AUTH, one connection for all domains) with
the same retry and bounce rules; ``mailtool queue retry|bounce`` steer the running
server."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.two_domains import imap_messages, submit
from tests.mta.relay_sink import Sink

PASSWORD = "relay-s3cret"


@pytest.fixture
def tls_context(certificate_authority):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("smarthost.test").configure_cert(ctx)
    return ctx


def queued(server, address):
    for entry in json.loads(server.cli("queue", "list", "--json").stdout):
        for r in entry["recipients"]:
            if r["address"] == address:
                return entry["id"], r
    return None, None


def wait_until(check, server, timeout=30):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)
    return result


def test_smart_host_carries_everything_and_queue_commands_steer_it(
    mailtool_server, tls_context, tmp_path
):
    replies = {
        "gone@y.test": "550 5.1.1 unknown here",
        "later@z.test": "451 4.3.0 try later",
        "stuck@z.test": "451 4.3.0 try later",
    }
    with Sink(tls=tls_context, users={"relay-user": PASSWORD}, rcpt_replies=replies) as sink:
        secret = tmp_path / "relay.pw"
        secret.write_text(PASSWORD + "\n")
        a = mailtool_server(
            "a",
            services=("submission", "imaps"),
            config={
                "hostname": "mx.a.test",
                # no resolver answers: with a smart host nothing needs DNS
                "dns": {"nameservers": ["127.0.0.1:9"]},
                "relay": {
                    "host": "127.0.0.1",
                    "port": sink.port,
                    "tls": "starttls",
                    "verify_tls": False,
                    "username": "relay-user",
                    "password_file": str(secret),
                },
                # the first retry is an hour away: only `queue retry` can make it sooner
                "queue": {"retry_first": 3600.0, "poll_interval": 0.5},
            },
        )
        a.add_user("alice@a.test", "alice-pw")
        submit(
            a, "alice@a.test", "alice-pw", ["ok@x.test", "gone@y.test", "later@z.test"], "via relay"
        )
        wait_until(lambda: sink.sessions, a)
        (session,) = sink.sessions  # three domains, one connection to the smart host
        assert session.login == "relay-user" and session.tls and session.helo == "mx.a.test"
        assert session.rcpts == ["ok@x.test"] and b"Subject: via relay" in session.data

        # 550 -> alice gets a DSN; 451 -> it waits for its retry in an hour
        (dsn,) = imap_messages(a, "alice@a.test", "alice-pw")
        status = dsn.get_payload()[1].as_bytes().decode()
        assert "Final-Recipient: rfc822; gone@y.test" in status and "Status: 5.1.1" in status
        qid, later = queued(a, "later@z.test")
        assert later["status"] == "pending" and later["attempts"] == 1
        assert later["next_attempt"] > time.time() + 3000

        # `queue retry` wakes the running server: the smart host takes it now
        del sink.rcpt_replies["later@z.test"]
        a.cli("queue", "retry", qid)
        wait_until(lambda: len(sink.sessions) == 2, a)
        assert sink.sessions[1].rcpts == ["later@z.test"]
        wait_until(lambda: queued(a, "later@z.test") == (None, None), a)

        # `queue bounce` gives up on a deferred message: alice gets the DSN
        submit(a, "alice@a.test", "alice-pw", ["stuck@z.test"], "stuck one")
        qid = wait_until(
            lambda: (
                (queued(a, "stuck@z.test")[1] or {}).get("attempts")
                and queued(a, "stuck@z.test")[0]
            ),
            a,
        )
        a.cli("queue", "bounce", qid)
        msgs = imap_messages(a, "alice@a.test", "alice-pw", count=2)
        status = msgs[-1].get_payload()[1].as_bytes().decode()
        assert "Final-Recipient: rfc822; stuck@z.test" in status and "administrator" in status
        wait_until(lambda: queued(a, "stuck@z.test") == (None, None), a)
    assert PASSWORD not in a.log()
