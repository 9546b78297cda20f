"""mailtool.dns against a real resolver (dnsmasq on loopback)."""

from __future__ import annotations

import asyncio
import hashlib
import random

import pytest

from mailtool.config import from_dict
from mailtool.dns import (
    DNSPermanentError,
    DNSTemporaryError,
    MXHost,
    NullMX,
    NXDomain,
    Resolver,
    order_by_preference,
    parse_nameserver,
    resolver_from_config,
)

DIGEST = hashlib.sha256(b"certificate").hexdigest()
ZONE = [
    "mx-host=a.test,mx1.a.test,10",
    "mx-host=a.test,mx2.a.test,10",
    "mx-host=a.test,mx0.a.test,5",
    "host-record=mx0.a.test,127.0.0.2",
    "host-record=mx1.a.test,127.0.0.3,::1",
    "dns-rr=null.test,15,00:00:00",
    "host-record=implicit.test,127.0.0.5",
    "txt-record=noaddr.test,hello",
    "server=/servfail.test/127.0.0.1#9",
    "cname=alias.a.test,mx1.a.test",
    'txt-record=a.test,"v=spf1 ip4:127.0.0.2 -all"',
    'txt-record=long.test,"part one ","part two"',
    "ptr-record=2.0.0.127.in-addr.arpa,mx0.a.test",
    "srv-host=_imaps._tcp.a.test,mx1.a.test,993,0,1",
    "srv-host=_submission._tcp.a.test,mx0.a.test,587,5,1",
    "srv-host=_pop3._tcp.a.test,.,0,0,0",
    "dns-rr=_25._tcp.mx1.a.test,52,03:01:01:"
    + ":".join(DIGEST[i : i + 2] for i in range(0, 64, 2)),
]


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def resolver(dns_server):
    server = dns_server(ZONE)
    return Resolver([server.address], timeout=1.0)


def test_mx_sorted_by_preference(resolver):
    mx = run(resolver.resolve_mx("a.test"))
    assert not mx.implicit and not mx.null
    assert mx.hosts[0] == MXHost(5, "mx0.a.test")
    assert {h.host for h in mx.hosts[1:]} == {"mx1.a.test", "mx2.a.test"}
    assert mx.to_json()["hosts"][0] == {"preference": 5, "host": "mx0.a.test"}


def test_equal_preferences_are_shuffled():
    hosts = [MXHost(10, f"mx{i}.test") for i in range(6)] + [MXHost(5, "first.test")]
    orders = {
        tuple(h.host for h in order_by_preference(hosts, random.Random(seed))) for seed in range(20)
    }
    assert all(order[0] == "first.test" for order in orders)
    assert len(orders) > 1  # RFC 5321 §5.1: randomised among equals


def test_null_mx_is_flagged_and_bounces_with_5_1_10(resolver):
    mx = run(resolver.resolve_mx("null.test"))
    assert mx.null and mx.hosts == ()
    with pytest.raises(NullMX) as info:
        mx.raise_for_null()
    assert info.value.enhanced == "5.1.10" and not info.value.temporary


def test_implicit_mx_from_address(resolver):
    mx = run(resolver.resolve_mx("implicit.test"))
    assert mx.implicit and mx.hosts == (MXHost(0, "implicit.test"),)


def test_no_mx_no_address_is_permanent(resolver):
    with pytest.raises(DNSPermanentError) as info:
        run(resolver.resolve_mx("noaddr.test"))
    assert not info.value.temporary and info.value.enhanced == "5.1.2"


def test_nxdomain_is_permanent(resolver):
    with pytest.raises(NXDomain) as info:
        run(resolver.resolve_mx("nowhere.test"))
    assert not info.value.temporary


def test_servfail_or_timeout_is_temporary(resolver):
    with pytest.raises(DNSTemporaryError) as info:
        run(resolver.resolve_mx("servfail.test"))
    assert info.value.temporary and info.value.enhanced == "4.4.3"


def test_dead_nameserver_is_temporary():
    from tests.peers import free_udp_tcp_port

    dead = Resolver([f"127.0.0.1:{free_udp_tcp_port()}"], timeout=0.5)
    with pytest.raises(DNSTemporaryError):
        run(dead.txt("a.test"))


def test_addresses_both_families(resolver):
    assert sorted(run(resolver.resolve_addresses("mx1.a.test"))) == ["127.0.0.3", "::1"]
    assert run(resolver.resolve_addresses("nothere.a.test")) == []


def test_cname_is_followed_and_reported(resolver):
    found = run(resolver.lookup("alias.a.test", "A"))
    assert found.cname == "mx1.a.test"
    assert [r.address for r in found.records] == ["127.0.0.3"]


def test_txt_joins_character_strings(resolver):
    assert run(resolver.txt("a.test")) == ["v=spf1 ip4:127.0.0.2 -all"]
    assert run(resolver.txt("long.test")) == ["part one part two"]
    assert run(resolver.txt("missing.test")) == []


def test_nxdomain_versus_nodata(resolver):
    nx = run(resolver.lookup("missing.test", "TXT"))
    nodata = run(resolver.lookup("mx0.a.test", "TXT"))
    assert nx.nxdomain and nx.void
    assert not nodata.nxdomain and nodata.void


def test_ptr(resolver):
    assert run(resolver.ptr("127.0.0.2")) == ["mx0.a.test"]
    assert run(resolver.ptr("127.0.0.99")) == []


def test_srv_sorted_and_null_target(resolver):
    imaps = run(resolver.srv("_imaps._tcp.a.test"))
    assert [(s.port, s.target) for s in imaps] == [(993, "mx1.a.test")]
    assert run(resolver.srv("_pop3._tcp.a.test"))[0].is_null


def test_tlsa(resolver):
    (record,) = run(resolver.tlsa("mx1.a.test", 25))
    assert (record.usage, record.selector, record.mtype) == (3, 1, 1)
    assert record.data.hex() == DIGEST
    assert run(resolver.tlsa("mx0.a.test", 25)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(text, expected):
    assert parse_nameserver(text) == expected


def test_resolver_from_config(dns_server):
    server = dns_server(ZONE)
    cfg = from_dict({"dns": {"nameservers": [server.address]}})
    resolver = resolver_from_config(cfg)
    assert resolver.nameservers == [server.address]
    assert run(resolver.txt("a.test")) == ["v=spf1 ip4:127.0.0.2 -all"]


def test_env_nameservers_win_over_the_system_resolver(monkeypatch):
    # the suite's DNS guard depends on this: no test may query the machine's resolver
    monkeypatch.setenv("MAILTOOL_NAMESERVERS", "127.0.0.1:5399")
    impl = Resolver()._resolver()
    assert [(ns.address, ns.port) for ns in impl.nameservers] == [("127.0.0.1", 5399)]
