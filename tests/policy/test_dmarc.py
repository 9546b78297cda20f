"""mailtool.policy.dmarc: tag values and ranges, report URIs, the organisational
domain from the Public Suffix List, and discovery as the server does it."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.dns import Resolver
from mailtool.policy.dmarc import (
    aligned,
    discover,
    organizational_domain,
    parse_record,
    record_problems,
    report_authorised,
)
from tests.mta.authn.conftest import txt


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("mail.example.co.uk", "example.co.uk"),  # a two-label public suffix
        ("a.b.c.example.com.au", "example.com.au"),
        ("x.y.good.test", "good.test"),  # unknown TLD: the list's "*" rule
        ("good.test", "good.test"),
        ("co.uk", "co.uk"),  # a public suffix is its own
        ("foo.github.io", "foo.github.io"),  # the list's private section
        ("EXAMPLE.ORG.", "example.org"),
    ],
)
def test_organizational_domain_comes_from_the_public_suffix_list(name: str, org: str) -> None:
    assert organizational_domain(name) == org


def test_relaxed_alignment_uses_the_organisational_domain() -> None:
    assert aligned("bounce.mail.example.co.uk", "example.co.uk", "r")
    assert not aligned("other.co.uk", "example.co.uk", "r")
    assert not aligned("mail.example.org", "example.org", "s")


@pytest.mark.parametrize(
    ("record", "code", "rfc"),
    [
        ("v=DMARC1; p=reject; pct=150", "pct", "RFC 7489 §6.3"),
        ("v=DMARC1; p=reject; pct=-1", "pct", "RFC 7489 §6.3"),
        ("v=DMARC1; p=rejet", "policy", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; sp=block", "policy", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; np=maybe", "policy", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; adkim=x", "alignment", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; aspf=relaxed", "alignment", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; ri=daily", "syntax", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; fo=2", "syntax", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; rf=json", "syntax", "RFC 7489 §6.3"),
        ("v=DMARC1; p=none; rua=dmarc@example.org", "uri", "RFC 7489 §6.4"),
        ("v=DMARC1; p=none; rua=https://example.org/r", "uri", "RFC 7489 §6.4"),
        ("v=DMARC1; p=none; rua=mailto:d@example.org!10x", "uri", "RFC 7489 §6.4"),
        ("v=DMARC1; p=none; ruf=mailto:", "uri", "RFC 7489 §6.4"),
        ("p=none; v=DMARC1", "version", "RFC 7489 §6.4"),
        ("v=DMARC1; rua=mailto:d@example.org", "policy", "RFC 7489 §6.3"),
    ],
)
def test_each_bad_value_is_one_error(record: str, code: str, rfc: str) -> None:
    problems = record_problems(record)
    assert [(p.severity, p.code, p.rfc) for p in problems] == [("error", code, rfc)]


def test_a_valid_record_has_no_problems() -> None:
    text = (
        "v=DMARC1; p=quarantine; sp=reject; np=reject; pct=0; ri=3600; fo=0:1:d:s; rf=afrf; "
        "adkim=s; aspf=r; rua=mailto:a@example.org!10m, mailto:b@example.net; "
        "ruf=mailto:f@example.org!500k"
    )
    record = parse_record("example.org", text)
    assert record.problems == ()
    assert record.report_uris() == ["a@example.org", "b@example.net"]
    assert record.pct == 0
    assert record.policy_for("sub.example.org") == "reject"


def test_unknown_tags_warn() -> None:
    assert [(p.severity, p.code) for p in record_problems("v=DMARC1; p=none; foo=1")] == [
        ("warning", "syntax")
    ]


ZONE = [
    txt("_dmarc.org.test", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@org.test"),
    txt("_dmarc.own.org.test", "v=DMARC1; p=none"),
    txt("_dmarc.bad.test", "v=DMARC1; p=rejet"),
    txt("_dmarc.two.test", "v=DMARC1; p=none"),
    txt("_dmarc.two.test", "v=DMARC1; p=reject"),
    txt("org.test._report._dmarc.reports.test", "v=DMARC1"),
]


def test_discovery(resolver: Resolver) -> None:
    deep = asyncio.run(discover(resolver, "a.b.org.test"))
    assert deep.record is not None and deep.inherited and deep.name == "_dmarc.org.test"
    assert deep.record.policy_for("a.b.org.test") == "quarantine"  # sp= (§6.3)
    own = asyncio.run(discover(resolver, "own.org.test"))
    assert own.record is not None and not own.inherited
    bad = asyncio.run(discover(resolver, "bad.test"))
    assert bad.record is None and [p.code for p in bad.problems] == ["policy"]
    two = asyncio.run(discover(resolver, "two.test"))
    assert two.record is None and [p.code for p in two.problems] == ["records"]
    assert asyncio.run(discover(resolver, "none.test")).record is None


def test_report_authorisation(resolver: Resolver) -> None:
    # RFC 7489 §7.1: the organisational domain needs no authorisation, even two levels up
    assert asyncio.run(report_authorised(resolver, "a.b.org.test", "d@org.test")) is True
    assert asyncio.run(report_authorised(resolver, "org.test", "r@reports.test")) is True
    assert asyncio.run(report_authorised(resolver, "own.org.test", "r@reports.test")) is False


def test_a_uri_without_its_scheme_says_how_to_write_it() -> None:
    (problem,) = record_problems("v=DMARC1; p=none; rua=dmarc@example.org")
    assert problem.fix == "Write the scheme: mailto:dmarc@example.org"
