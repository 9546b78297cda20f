"""mailtool.policy.mtasts and .tlsrpt: the TXT records and the policy file grammar."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.dns import Resolver
from mailtool.policy import mtasts, tlsrpt
from tests.mta.authn.conftest import txt


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("v=STSv1; id=2024-06-01!", "id"),  # RFC 8461 §3.1: 1*32(ALPHA / DIGIT)
        ("v=STSv1; id=" + "1" * 33, "id"),
        ("v=STSv1; id=", "id"),
        ("v=STSv1", "id"),
        ("v=STSv1; id=1; bad name=x", "syntax"),
    ],
)
def test_sts_record_problems(text: str, code: str) -> None:
    assert [(p.code, p.rfc) for p in mtasts.record_problems(text)] == [(code, "RFC 8461 §3.1")]


def test_a_good_sts_record() -> None:
    assert mtasts.record_problems("v=STSv1; id=20240601T000000; ext_1=x") == []


GOOD = (
    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmx: *.example.net\r\n"
    "max_age: 86400\r\n"
)


def test_a_good_policy_file() -> None:
    policy = mtasts.parse_policy_file(GOOD)
    assert policy.valid and policy.problems == ()
    assert (policy.mode, policy.mx, policy.max_age) == (
        "enforce",
        ("mx.example.org", "*.example.net"),
        86400,
    )
    assert mtasts.parse_policy_file("version: STSv1\nmode: none\nmax_age: 0\n").valid


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD.replace("STSv1", "STSv2"), "version"),
        (GOOD.replace("enforce", "enforcing"), "mode"),
        (GOOD.replace("86400", "31557601"), "max_age"),
        (GOOD.replace("86400", "1e5"), "max_age"),
        (GOOD.replace("mx: mx.example.org\r\nmx: *.example.net\r\n", ""), "no mx"),
        (GOOD.replace("mx.example.org", "mx..example.org"), "mx 'mx..example.org'"),
        (GOOD.replace("mx.example.org", "*.*.example.org"), "mx '*.*.example.org'"),
        (GOOD + "this is not a field\r\n", "line 6"),
    ],
)
def test_policy_file_errors(text: str, needle: str) -> None:
    policy = mtasts.parse_policy_file(text)
    assert not policy.valid
    assert [p.rfc for p in policy.problems] == ["RFC 8461 §3.2"]
    assert needle in policy.problems[0].message


def test_judge_response_checks_status_and_type_first() -> None:
    assert mtasts.judge_response(200, "text/plain; charset=utf-8", GOOD.encode()).valid
    moved = mtasts.judge_response(301, "text/plain", b"")
    assert "HTTP status 301" in moved.problems[0].message
    assert (
        "Content-Type text/html" in mtasts.judge_response(200, "text/html", b"").problems[0].message
    )


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("v=TLSRPTv1; rua=mailto:tls@example.org", []),
        ("v=TLSRPTv1; rua=mailto:a@example.org,https://r.example.org/tls", []),
        ("v=TLSRPTv1; rua=tls@example.org", ["uri"]),  # RFC 8460 §3: a URI, with its scheme
        ("v=TLSRPTv1; rua=ftp://example.org/x", ["uri"]),
        ("v=TLSRPTv1; rua=mailto:", ["uri"]),
        ("v=TLSRPTv1", ["uri"]),
    ],
)
def test_tlsrpt_record(text: str, problems: list[str]) -> None:
    got = tlsrpt.record_problems(text)
    assert [p.code for p in got] == problems
    assert all(p.rfc == "RFC 8460 §3" for p in got)


def test_tlsrpt_mailto_addresses_skip_the_bad_uris() -> None:
    record = tlsrpt.parse_record("_smtp._tls.x", "v=TLSRPTv1; rua=mailto:a@x.org?subject=r,b@x")
    assert record.mailto == ["a@x.org"]


ZONE = [
    txt("_mta-sts.ok.test", "v=STSv1; id=20240601"),
    txt("_mta-sts.badid.test", "v=STSv1; id=2024-06-01!"),
    txt("_mta-sts.two.test", "v=STSv1; id=1"),
    txt("_mta-sts.two.test", "v=STSv1; id=2"),
    txt("_smtp._tls.ok.test", "v=TLSRPTv1; rua=mailto:tls@ok.test,https://r.ok.test/"),
    txt("_smtp._tls.two.test", "v=TLSRPTv1; rua=mailto:a@two.test"),
    txt("_smtp._tls.two.test", "v=TLSRPTv1; rua=mailto:b@two.test"),
]


def test_discovery_is_what_the_relay_acts_on(resolver: Resolver) -> None:
    # RFC 8461 §3.1: an invalid record, or several, mean no policy (the relay keeps a
    # cached one); the relay's MtaStsCache reads the id from exactly this
    assert asyncio.run(mtasts.discover(resolver, "ok.test")).id == "20240601"
    bad = asyncio.run(mtasts.discover(resolver, "badid.test"))
    assert bad.id == "" and [p.code for p in bad.problems] == ["id"]
    two = asyncio.run(mtasts.discover(resolver, "two.test"))
    assert two.id == "" and [p.code for p in two.problems] == ["records"]
    assert asyncio.run(mtasts.discover(resolver, "none.test")) == mtasts.StsRecord(
        "_mta-sts.none.test", ()
    )
    ok = asyncio.run(tlsrpt.discover(resolver, "ok.test"))
    assert (ok.mailto, ok.problems) == (["tls@ok.test"], ())
    two_rpt = asyncio.run(tlsrpt.discover(resolver, "two.test"))
    assert two_rpt.rua == () and [p.code for p in two_rpt.problems] == ["records"]
