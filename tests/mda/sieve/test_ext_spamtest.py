"""spamtest / spamtestplus / virustest (RFC 5235) read from our scanners' headers."""

from __future__ import annotations

import pytest

from mailtool.mda.scanners.policy import spam_headers
from mailtool.mda.sieve import FileInto, Keep, SieveSyntaxError, check
from mailtool.mda.sieve.ext_spamtest import ScanResult, spam_percent, spam_value
from tests.mda.sieve.helpers import folders, msg, sieve


def scanned(score: float | None, *, virus: bool = True, threshold: float = 5.0) -> bytes:
    """A message as our scanner leaves it (policy.spam_headers + X-Scan-Results)."""
    headers = [("Received", "from mx.example.com by us")]
    if score is not None:
        headers += spam_headers(score, threshold, ("BAYES_99",), score >= threshold)
    if virus:
        headers.append(("X-Virus-Scanned", "clamav at us"))
    headers += [("X-Scan-Results", "us; clamav=clean"), ("Subject", "s")]
    return msg(headers)


# RFC 5235 §3.2 / §5 examples
RFC_PLUS = """require ["spamtestplus", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" {
    fileinto "INBOX.unclassified";
} elsif spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50" {
    fileinto "INBOX.spam-trap";
}"""
RFC_SPAM = """require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "6" {
    fileinto "INBOX.spam-trap";
}"""
RFC_VIRUS = """require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if virustest :value "eq" :comparator "i;ascii-numeric" "0" {
    fileinto "INBOX.unclassified";
}
if virustest :value "eq" :comparator "i;ascii-numeric" "4" {
    fileinto "INBOX.quarantine";
} elsif virustest :value "eq" :comparator "i;ascii-numeric" "5" {
    discard;
}"""


def test_the_scale():
    assert spam_value(ScanResult()) == 0 and spam_percent(ScanResult()) == 0
    assert spam_value(ScanResult(-3.0)) == 1
    assert spam_value(ScanResult(5.0, 5.0)) == 6  # at the junk threshold
    assert spam_value(ScanResult(4.9, 5.0)) == 5
    assert spam_value(ScanResult(10.0, 5.0)) == 10 and spam_value(ScanResult(99.0)) == 10
    assert spam_percent(ScanResult(2.5, 5.0)) == 25


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (msg({"Subject": "not scanned"}), ["INBOX.unclassified"]),
        (scanned(1.0), ["INBOX"]),
        (scanned(5.0), ["INBOX.spam-trap"]),
        (scanned(12.0), ["INBOX.spam-trap"]),
    ],
)
def test_rfc5235_spamtestplus_example(message, expected):
    assert folders(sieve(RFC_PLUS, message)) == expected


def test_rfc5235_spamtest_example_uses_the_threshold_our_scanner_used():
    assert folders(sieve(RFC_SPAM, scanned(5.0))) == ["INBOX.spam-trap"]
    assert folders(sieve(RFC_SPAM, scanned(4.0))) == ["INBOX"]
    assert folders(sieve(RFC_SPAM, scanned(4.0, threshold=3.0))) == ["INBOX.spam-trap"]


def test_rfc5235_virustest_example():
    assert folders(sieve(RFC_VIRUS, msg({}))) == ["INBOX.unclassified"]
    assert sieve(RFC_VIRUS, scanned(1.0)) == [Keep(implicit=True)]
    clean = 'require "virustest"; if virustest "1" { discard; }'
    assert folders(sieve(clean, scanned(None))) == []


def test_forged_headers_below_a_foreign_received_are_not_trusted():
    forged = msg([
        ("Received", "from us"), ("Received", "from elsewhere"),
        ("X-Spam-Score", "-50.0"), ("X-Scan-Results", "forged"),
    ])  # fmt: skip
    assert folders(sieve(RFC_PLUS, forged)) == ["INBOX.unclassified"]


def test_spamtest_percent_needs_spamtestplus_and_spamtestplus_implies_spamtest():
    check('require "spamtestplus"; if spamtest "0" { keep; }')
    with pytest.raises(SieveSyntaxError, match=r"line 1, column \d+: :percent needs require"):
        check('require "spamtest"; if spamtest :percent "0" { keep; }')
    with pytest.raises(SieveSyntaxError, match='needs require "spamtest"'):
        check('if spamtest "0" { keep; }')
    with pytest.raises(SieveSyntaxError, match='needs require "virustest"'):
        check('if virustest "0" { keep; }')


def test_string_match_types_work_too():
    script = 'require ["spamtest", "fileinto"]; if spamtest :matches "1?" { fileinto "Ten"; }'
    assert sieve(script, scanned(30.0)) == [FileInto("Ten")]


@pytest.mark.parametrize("score", ["nan", "inf", "-inf", "1e999", "x"])
def test_a_score_that_is_no_number_is_not_a_verdict(score):
    message = msg([("X-Spam-Score", score), ("X-Scan-Results", "us; spamd=?")])
    assert folders(sieve(RFC_PLUS, message)) == ["INBOX.unclassified"]
