"""RFC 3464 delivery status notifications and the retry schedule, without a network."""

from __future__ import annotations

import email
from email import policy

from mailtool.config import QueueConfig
from mailtool.mta.dsn import RecipientReport, build_dsn, original_headers, should_notify
from mailtool.mta.relay import parse_error
from mailtool.mta.retry import RetryPolicy

ORIGINAL = (
    b"Received: from x by mx.a.test; Fri, 27 Nov 2026 12:00:00 +0000\r\n"
    b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: Lunch \xc3\xa5?\r\n"
    b"Message-ID: <lunch@a.test>\r\n\r\nSecret body text\r\n"
)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def test_bounce_is_a_multipart_report_with_the_original_headers():
    report = RecipientReport("bob@b.test", "5.1.1", "550 5.1.1 no such user", "mx.b.test", 1e9)
    raw = build_dsn(
        reporting_mta="mx.a.test",
        queue_id="Q1",
        sender="alice@a.test",
        original=ORIGINAL,
        arrival=1e9,
        reports=[report],
        now=1e9 + 5,
    )
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["To"] == "alice@a.test" and msg["Auto-Submitted"] == "auto-replied"
    human, status, headers = msg.get_payload()
    assert "bob@b.test" in human.get_content() and "550 5.1.1 no such user" in human.get_content()
    assert status.get_content_type() == "message/delivery-status"
    text = status.as_bytes().decode()
    for line in (
        "Reporting-MTA: dns; mx.a.test",
        "Final-Recipient: rfc822; bob@b.test",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.b.test",
        "Diagnostic-Code: smtp; 550 5.1.1 no such user",
    ):
        assert line in text
    assert headers.get_content_type() == "text/rfc822-headers"
    body = headers.get_payload(decode=True)
    assert b"Message-ID: <lunch@a.test>" in body and b"Secret body text" not in body
    assert all(len(line) <= 78 for line in raw.split(b"\r\n") if not line.startswith(b"<"))


def test_delay_notice_says_until_when():
    report = RecipientReport("bob@b.test", "4.4.1", "451 4.4.1 no answer")
    raw = build_dsn(
        reporting_mta="mx.a.test",
        queue_id="Q2",
        sender="alice@a.test",
        original=ORIGINAL,
        arrival=0,
        reports=[report],
        action="delayed",
        retry_until=5 * 86400,
    )
    text = raw.decode()
    assert "Action: delayed" in text and "Will-Retry-Until: Tue, 06 Jan 1970" in text
    assert "Delayed Mail" in parse(raw)["Subject"]


def test_null_sender_is_never_bounced():
    assert not should_notify("") and not should_notify("<>") and should_notify("a@b.test")


def test_original_headers_bounded_and_crlf():
    assert original_headers(b"A: 1\nB: 2\n\nbody") == b"A: 1\r\nB: 2\r\n"
    assert len(original_headers(b"X: " + b"y" * 200_000)) <= 64 * 1024 + 2


def test_queue_error_round_trip():
    assert parse_error("550 5.1.1 no such user (from mx.b.test)") == (
        "5.1.1",
        "550 5.1.1 no such user",
        "mx.b.test",
    )
    assert parse_error("garbage") == ("5.0.0", "garbage", "")


def test_retry_schedule_is_exponential_capped_and_ends_with_the_lifetime():
    p = RetryPolicy.from_config(
        QueueConfig(
            retry_first=60, retry_factor=2, retry_max=600, max_lifetime=3600, delay_warning=1800
        )
    )
    assert [p.delay(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert p.delay(10_000) == 600  # no overflow
    assert p.next_attempt(created=0, attempts=1, now=100) == 160
    assert p.next_attempt(created=0, attempts=6, now=3500) == 3600  # last try at expiry
    assert p.next_attempt(created=0, attempts=7, now=3600) is None  # give up: bounce
    assert not p.warning_due(0, 1799, False) and p.warning_due(0, 1800, False)
    assert not p.warning_due(0, 1800, True)


def test_default_schedule_gives_up_after_five_days():
    p = RetryPolicy.from_config(QueueConfig())
    assert p.lifetime == 5 * 86400 and p.warn_after == 4 * 3600
