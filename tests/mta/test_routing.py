"""MX routing through a real resolver (dnsmasq on loopback): preference order, random
order among equals, implicit MX, null MX, NXDOMAIN, require_tls and the smart host."""

from __future__ import annotations

import asyncio

import pytest

from mailtool import config as config_mod
from mailtool.dns import Resolver
from mailtool.errors import PermanentFailure
from mailtool.mta.routing import route_for

RECORDS = [
    "mx-host=pref.test,mx1.pref.test,10",
    "mx-host=pref.test,mx2.pref.test,10",
    "mx-host=pref.test,mx3.pref.test,20",
    "host-record=mx1.pref.test,127.0.0.11",
    "host-record=mx2.pref.test,127.0.0.12",
    "host-record=mx3.pref.test,127.0.0.13",
    "host-record=implicit.test,127.0.0.14",
    "mx-host=null.test,.,0",
    "mx-host=dangling.test,nowhere.dangling.test,10",
]


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    from tests.peers.dnsmasq import DnsServer

    dns = DnsServer(tmp_path_factory.mktemp("dns"), RECORDS).start()
    yield Resolver([dns.address], timeout=3)
    dns.stop()


def cfg(**sections):
    return config_mod.from_dict({"hostname": "mx.a.test", **sections})


def route(resolver, domain, config=None):
    return asyncio.run(route_for(config or cfg(outbound={"port": 2525}), resolver, domain))


@pytest.mark.peer
def test_preference_order_with_equal_preferences_shuffled(resolver):
    seen = set()
    for _ in range(30):
        r = route(resolver, "pref.test")
        names = [h.name for h in r.hops]
        assert names[2] == "mx3.pref.test" and set(names[:2]) == {"mx1.pref.test", "mx2.pref.test"}
        assert {h.port for h in r.hops} == {2525} and r.tls == "opportunistic"
        seen.add(tuple(names[:2]))
    assert len(seen) == 2  # RFC 5321 §5.1: equal preferences in random order (p=2^-29 to fail)
    assert [h.address for h in r.hops if h.name == "mx3.pref.test"] == ["127.0.0.13"]


@pytest.mark.peer
def test_no_mx_means_the_domain_itself(resolver):
    r = route(resolver, "implicit.test")
    assert [(h.name, h.address) for h in r.hops] == [("implicit.test", "127.0.0.14")]


@pytest.mark.peer
def test_null_mx_bounces_at_once_with_5_1_10(resolver):
    with pytest.raises(PermanentFailure) as exc:
        route(resolver, "null.test")
    assert exc.value.code == 556 and exc.value.enhanced == "5.1.10"


@pytest.mark.peer
def test_unknown_domain_bounces_and_addressless_mx_defers(resolver):
    with pytest.raises(PermanentFailure) as exc:
        route(resolver, "nosuch.test")
    assert exc.value.enhanced == "5.1.2"
    from mailtool.errors import TemporaryFailure

    with pytest.raises(TemporaryFailure) as soft:
        route(resolver, "dangling.test")
    assert soft.value.enhanced.startswith("4.4.")


@pytest.mark.peer
def test_require_tls_per_domain(resolver):
    config = cfg(outbound={"require_tls": ["PREF.test"]})
    assert route(resolver, "pref.test", config).tls == "required"
    assert route(resolver, "implicit.test", config).tls == "opportunistic"


def test_smart_host_takes_every_domain_without_dns(tmp_path):
    secret = tmp_path / "relay.pw"
    secret.write_text("hunter2\n")
    config = cfg(
        relay={
            "host": "smtp.provider.test",
            "port": 2587,
            "username": "me",
            "password_file": str(secret),
        }
    )
    # an unreachable resolver: a smart host must not need DNS here
    r = asyncio.run(route_for(config, Resolver(["127.0.0.1:9"], timeout=0.5), "any.test"))
    assert [(h.name, h.port) for h in r.hops] == [("smtp.provider.test", 2587)]
    assert r.tls == "required" and r.verify_tls and r.smart_host
    assert r.credentials.username == "me" and r.credentials.password == "hunter2"
    assert "hunter2" not in repr(r)


def test_smart_host_password_never_without_tls():
    from mailtool.errors import ConfigError

    with pytest.raises(ConfigError, match=r"relay\.tls"):
        cfg(relay={"host": "smtp.provider.test", "tls": "none", "username": "me"})
