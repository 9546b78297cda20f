"""mailtool.mta.outbound against an in-process SMTP server: one session per domain,
per-recipient results, MX fallback, opportunistic and required STARTTLS, smart-host AUTH."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.mta.outbound import Settings, deliver, split_enhanced
from mailtool.mta.routing import Credentials, Hop, Route
from tests.mta.relay_sink import Sink
from tests.peers import free_port

MESSAGE = b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\nhello \xc3\xa5\r\n"
SETTINGS = Settings(helo="mx.a.test", connect_timeout=5, timeout=10)


def route(*ports: int, **kw) -> Route:
    hops = tuple(Hop(f"mx{i}.b.test", "127.0.0.1", p) for i, p in enumerate(ports))
    return Route("b.test", hops, **kw)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def tls_server_context(certificate_authority, tmp_path):
    import ssl

    cert = certificate_authority.issue_cert("mx.sink.test")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def test_one_session_carries_every_recipient_with_its_own_result():
    replies = {"gone@b.test": "550 5.1.1 no such user", "full@b.test": "452 4.2.2 mailbox full"}
    with Sink(rcpt_replies=replies) as sink:
        rcpts = ["bob@b.test", "gone@b.test", "full@b.test", "carol@b.test"]
        results = run(deliver(route(sink.port), "alice@a.test", rcpts, MESSAGE, SETTINGS))
    assert [r.outcome for r in results] == ["delivered", "failed", "deferred", "delivered"]
    assert results[1].diagnostic == "550 5.1.1 no such user" and results[1].remote == "mx0.b.test"
    (session,) = sink.sessions  # one connection, one transaction
    assert session.rcpts == ["bob@b.test", "carol@b.test"]
    assert session.helo == "mx.a.test" and session.sender == "alice@a.test"
    assert session.data == MESSAGE
    assert "BODY=8BITMIME" in session.mail_options  # 8-bit body, server offers 8BITMIME


def test_data_refused_fails_every_accepted_recipient():
    with Sink(data_reply="554 5.6.0 content rejected") as sink:
        results = run(
            deliver(route(sink.port), "a@a.test", ["b@b.test", "c@b.test"], MESSAGE, SETTINGS)
        )
    assert {(r.outcome, r.enhanced) for r in results} == {("failed", "5.6.0")}


def test_first_host_down_second_takes_the_mail():
    with Sink() as sink:
        results = run(
            deliver(route(free_port(), sink.port), "a@a.test", ["b@b.test"], MESSAGE, SETTINGS)
        )
    assert results[0].outcome == "delivered" and results[0].remote == "mx1.b.test"
    assert len(sink.sessions) == 1


def test_every_host_down_defers_with_the_reason():
    (result,) = run(
        deliver(route(free_port(), free_port()), "a@a.test", ["b@b.test"], MESSAGE, SETTINGS)
    )
    assert result.outcome == "deferred" and result.code == 451
    assert "cannot connect" in result.text


def test_opportunistic_starttls_is_used_when_offered(tls_server_context):
    with Sink(tls=tls_server_context) as sink:
        (result,) = run(deliver(route(sink.port), "a@a.test", ["b@b.test"], MESSAGE, SETTINGS))
    assert result.outcome == "delivered"
    assert sink.sessions[0].tls  # the certificate is not checked: opportunistic (RFC 7435)


def test_plaintext_when_starttls_not_offered_unless_required():
    with Sink() as sink:
        (plain,) = run(deliver(route(sink.port), "a@a.test", ["b@b.test"], MESSAGE, SETTINGS))
        (required,) = run(
            deliver(route(sink.port, tls="required"), "a@a.test", ["b@b.test"], MESSAGE, SETTINGS)
        )
    assert plain.outcome == "delivered" and not sink.sessions[0].tls
    assert required.outcome == "deferred" and required.enhanced == "4.7.10"
    assert len(sink.sessions) == 1  # nothing was sent without TLS


def test_smart_host_auth_over_starttls(tls_server_context):
    users = {"relayuser": "s3cret"}
    with Sink(tls=tls_server_context, users=users) as sink:
        good = route(
            sink.port,
            tls="required",
            credentials=Credentials("relayuser", "s3cret"),
            smart_host=True,
        )
        bad = route(
            sink.port,
            tls="required",
            credentials=Credentials("relayuser", "wrong"),
            smart_host=True,
        )
        (ok,) = run(deliver(good, "a@a.test", ["x@elsewhere.test"], MESSAGE, SETTINGS))
        (refused,) = run(deliver(bad, "a@a.test", ["x@elsewhere.test"], MESSAGE, SETTINGS))
    assert ok.outcome == "delivered" and sink.sessions[0].login == "relayuser"
    assert sink.sessions[0].tls
    # a wrong password is fixed by the admin, not by bouncing the mail
    assert refused.outcome == "deferred" and refused.enhanced == "4.7.8"
    assert "s3cret" not in repr(good) and "wrong" not in refused.text


def test_split_enhanced():
    assert split_enhanced(550, "5.1.1 no  such\nuser") == ("5.1.1", "no such user")
    assert split_enhanced(550, "no such user") == ("5.0.0", "no such user")
    assert split_enhanced(450, "5.1.1 class mismatch") == ("4.0.0", "5.1.1 class mismatch")


def test_a_host_that_never_greets_is_a_timeout_and_a_deferral():
    import socket

    with socket.socket() as silent:  # accepts (the kernel does) but never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        quick = Settings(helo="mx.a.test", connect_timeout=0.5, timeout=0.5)
        (result,) = run(
            deliver(route(silent.getsockname()[1]), "a@a.test", ["b@b.test"], MESSAGE, quick)
        )
    assert result.outcome == "deferred" and result.enhanced == "4.4.1"
