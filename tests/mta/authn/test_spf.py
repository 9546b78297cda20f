"""RFC 7208 check_host against a dnsmasq zone: mechanisms, qualifiers, include and
redirect, macros, and the limits that make a record a permerror."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.dns import Resolver
from mailtool.policy.spf import check_host, check_mail_from
from tests.mta.authn.conftest import txt

ZONE = [
    txt("ip.test", "v=spf1 ip4:127.0.0.0/30 ip6:2001:db8::/32 -all"),
    txt("a.test", "v=spf1 a:mx.spf.test/31 ~all"),
    "host-record=mx.spf.test,127.0.0.10",
    "host-record=mx2.spf.test,127.0.0.20",
    txt("mx.test", "v=spf1 mx -all"),
    "mx-host=mx.test,mx2.spf.test,10",
    txt("inc.test", "v=spf1 include:ip.test ?all"),
    txt("inc-none.test", "v=spf1 include:nothing.test -all"),
    txt("redir.test", "v=spf1 redirect=ip.test"),
    txt("exists.test", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"),
    "host-record=2.0.0.127.bob._spf.exists.test,127.0.0.1",
    txt("two.test", "v=spf1 -all"),
    txt("two.test", "v=spf1 +all"),
    txt("loop.test", "v=spf1 include:loop.test -all"),
    txt("many.test", "v=spf1 " + " ".join(f"a:h{i}.many.test" for i in range(11)) + " -all"),
    txt("void.test", "v=spf1 a:n1.test a:n2.test a:n3.test -all"),
    txt("bad.test", "v=spf1 ip4:300.1.1.1 -all"),
    txt("plain.test", "not spf"),
]
ZONE += [f"host-record=h{i}.many.test,10.0.0.{i}" for i in range(11)]


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory):
    from tests.peers.dnsmasq import DnsServer

    server = DnsServer(tmp_path_factory.mktemp("spfdns"), ZONE).start()
    yield Resolver([server.address], timeout=3)
    server.stop()


@pytest.mark.parametrize(
    ("domain", "ip", "sender", "expected"),
    [
        ("ip.test", "127.0.0.2", "x@ip.test", "pass"),
        ("ip.test", "127.0.0.9", "x@ip.test", "fail"),
        ("ip.test", "2001:db8::5", "x@ip.test", "pass"),
        ("ip.test", "::ffff:127.0.0.1", "x@ip.test", "pass"),  # IPv4-mapped
        ("a.test", "127.0.0.11", "x@a.test", "pass"),  # a:/31
        ("a.test", "127.0.0.12", "x@a.test", "softfail"),
        ("mx.test", "127.0.0.20", "x@mx.test", "pass"),
        ("mx.test", "127.0.0.10", "x@mx.test", "fail"),
        ("inc.test", "127.0.0.1", "x@inc.test", "pass"),
        ("inc.test", "127.0.0.9", "x@inc.test", "neutral"),  # include fail = no match
        ("inc-none.test", "127.0.0.1", "x@inc-none.test", "permerror"),
        ("redir.test", "127.0.0.9", "x@redir.test", "fail"),
        # RFC 7208 §7.4: %{l1r+-} of "bob-sales" is "bob" (split, reverse, keep 1)
        ("exists.test", "127.0.0.2", "bob-sales@exists.test", "pass"),
        ("exists.test", "127.0.0.2", "alice@exists.test", "fail"),
        ("two.test", "127.0.0.1", "x@two.test", "permerror"),
        ("loop.test", "127.0.0.1", "x@loop.test", "permerror"),
        ("many.test", "10.0.0.10", "x@many.test", "permerror"),  # 11 lookups
        ("many.test", "10.0.0.0", "x@many.test", "pass"),  # matched before the limit
        ("void.test", "127.0.0.1", "x@void.test", "permerror"),  # 3 void lookups
        ("bad.test", "127.0.0.1", "x@bad.test", "permerror"),
        ("plain.test", "127.0.0.1", "x@plain.test", "none"),
        ("nothing.test", "127.0.0.1", "x@nothing.test", "none"),
    ],
)
def test_check_host(resolver, domain: str, ip: str, sender: str, expected: str) -> None:
    assert asyncio.run(check_host(resolver, ip, domain, sender)).result == expected


def test_dns_failure_is_temperror() -> None:
    dead = Resolver(["127.0.0.1:9"], timeout=0.3)
    assert asyncio.run(check_host(dead, "127.0.0.1", "ip.test", "x@ip.test")).result == "temperror"


def test_mail_from_without_local_part_and_bad_domain(resolver) -> None:
    assert asyncio.run(check_mail_from(resolver, "127.0.0.1", "h", "ip.test")).result == "pass"
    assert asyncio.run(check_host(resolver, "127.0.0.1", "localhost", "x@localhost")).result == (
        "none"
    )
