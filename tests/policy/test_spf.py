"""mailtool.policy.spf: the RFC 7208 §12 syntax of every term, and walk(), the
evaluation diagnose reports (the server's check_host, going on past errors)."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.dns import Resolver
from mailtool.policy.spf import (
    WALK_LOOKUP_BOUND,
    PermError,
    check_host,
    parse_term,
    record_problems,
    walk,
)
from tests.mta.authn.conftest import txt


@pytest.mark.parametrize(
    "term",
    [
        "ip4:192.0.2.300",  # RFC 7208 §5.6: not an address
        "ip4:192.0.2.0/33",
        "ip4:192.0.2.0/08",  # §12: no leading zero in a cidr-length
        "ip6:2001:db8::/129",
        "ip6:192.0.2.1",
        "ip4",
        "a:example.com/33",
        "mx//129",
        "include",
        "include:",
        "exists:%{q}.example.com",  # no such macro letter
        "a:%{c}.example.com",  # c only in exp= (§7.3)
        "a:example.123",  # domain-end: a toplabel is not all digits
        "a:100%.example.com",
        "all:x",
        "foo:bar",
        "-redirect=example.com",  # a modifier takes no qualifier
    ],
)
def test_bad_terms_are_errors(term: str) -> None:
    with pytest.raises(PermError, match="RFC 7208"):
        parse_term(term)
    problems = record_problems(f"v=spf1 {term} -all")
    assert [p.severity for p in problems] == ["error"]
    assert problems[0].rfc.startswith("RFC 7208 §")


@pytest.mark.parametrize(
    "term",
    [
        "ip4:192.0.2.0/24",
        "ip6:2001:db8::/32",
        "ip6:::1",
        "a",
        "a/24",
        "a//64",
        "a:mail.example.com/24//64",
        "mx:example.com",
        "ptr:example.com",
        "exists:%{ir}.%{l1r+-}._spf.%{d}",
        "include:_spf.example.com",
        "redirect=_spf.example.com",
        "exp=explain.%{d}",
        "?all",
    ],
)
def test_good_terms_parse(term: str) -> None:
    parse_term(term)
    assert not [p for p in record_problems(f"v=spf1 {term}") if p.is_error]


def test_warnings_name_their_rule() -> None:
    problems = record_problems("v=spf1 ptr -all mx foo=bar redirect=x.example")
    found = {(p.severity, p.code, p.rfc) for p in problems}
    assert found == {
        ("warning", "ptr", "RFC 7208 §5.5"),
        ("warning", "after-all", "RFC 7208 §5.1"),  # mx after -all
        ("warning", "modifier", "RFC 7208 §6"),  # foo= is ignored
        ("warning", "after-all", "RFC 7208 §6.1"),  # redirect with an all
    }


def test_two_redirects_are_an_error() -> None:
    problems = record_problems("v=spf1 redirect=a.example redirect=b.example")
    assert [(p.severity, p.rfc) for p in problems] == [("error", "RFC 7208 §6")]


ZONE = [
    txt("top.test", "v=spf1 mx include:inc.test include:none.test a:v1.test a:v2.test -all"),
    "mx-host=top.test,m1.top.test,10",
    "mx-host=top.test,m2.top.test,20",
    "host-record=m1.top.test,127.0.0.1",
    txt("inc.test", "v=spf1 include:top.test ip4:10.0.0.0/8 -all"),
    txt("clean.test", "v=spf1 ip4:127.0.0.1 mx -all"),
    txt("redir.test", "v=spf1 redirect=clean.test"),
    txt("syntax.test", "v=spf1 ip4:127.0.0.1 ip4:192.0.2.300 -all"),
    # 9 includes of 9 includes each: 90 lookups if walked whole
    txt("long.test", "v=spf1 " + " ".join(f"a:n{i}.l.test" for i in range(60)) + " -all"),
    txt("wide.test", "v=spf1 " + " ".join(f"include:i{i}.wide.test" for i in range(9)) + " -all"),
]
ZONE += [
    txt(f"i{i}.wide.test", "v=spf1 " + " ".join(f"include:j{j}.wide.test" for j in range(9)))
    for i in range(9)
]
ZONE += [txt(f"j{j}.wide.test", "v=spf1 -all") for j in range(9)]


def test_walk_reports_every_problem_with_the_trace(resolver: Resolver) -> None:
    result = asyncio.run(walk(resolver, "top.test"))
    codes = sorted(p.code for _, p in result.problems)
    # the loop back to top.test, none.test without SPF, and m2 + v1 + v2 = 3 void lookups
    # (the MX's own address lookups count: RFC 7208 §4.6.4)
    assert codes == ["include", "loop", "void"]
    assert result.voids == 3  # m2.top.test (an MX address), v1, v2
    assert result.result == "permerror"
    assert [(s.domain, s.term, s.lookups) for s in result.trace] == [
        ("top.test", "mx", 1),
        ("top.test", "include:inc.test", 2),
        ("inc.test", "include:top.test", 3),  # the loop: counted, not followed
        ("inc.test", "ip4:10.0.0.0/8", 3),
        ("inc.test", "-all", 3),
        ("top.test", "include:none.test", 4),
        ("top.test", "a:v1.test", 5),
        ("top.test", "a:v2.test", 6),
        ("top.test", "-all", 6),
    ]
    assert result.lookups == 6


def test_walk_of_a_clean_record_and_a_redirect(resolver: Resolver) -> None:
    clean = asyncio.run(walk(resolver, "clean.test"))
    assert (clean.result, clean.problems, clean.lookups) == ("fail", (), 1)
    redir = asyncio.run(walk(resolver, "redir.test"))
    assert (redir.result, redir.problems, redir.lookups) == ("fail", (), 2)


def test_a_syntax_error_anywhere_is_a_permerror_even_after_a_match(resolver: Resolver) -> None:
    # RFC 7208 §4.6: the record is checked whole before evaluation
    got = asyncio.run(check_host(resolver, "127.0.0.1", "syntax.test", "x@syntax.test"))
    assert got.result == "permerror"
    assert "192.0.2.300" in got.reason
    assert asyncio.run(check_host(resolver, "127.0.0.1", "clean.test", "x@clean.test")).result == (
        "pass"
    )


def test_walk_is_bounded(resolver: Resolver) -> None:
    # a hostile record tree costs diagnose at most WALK_LOOKUP_BOUND (+ one record's worth)
    result = asyncio.run(walk(resolver, "wide.test"))
    assert WALK_LOOKUP_BOUND < result.lookups <= WALK_LOOKUP_BOUND + 10
    assert [p.code for _, p in result.problems] == ["lookups"]
    long = asyncio.run(walk(resolver, "long.test"))  # 60 terms, every one a void lookup
    assert long.lookups == 60 and long.voids == WALK_LOOKUP_BOUND  # all counted, 40 asked
    got = asyncio.run(check_host(resolver, "127.0.0.1", "wide.test", "x@wide.test"))
    assert got.result == "permerror" and got.lookups == 11  # RFC 7208 §4.6.4: stops at 11
