"""MTA-STS: the policy is discovered in DNS, fetched over verified HTTPS, cached on
disk, and in enforce mode a receiving MX with a certificate for the wrong name
defers the message instead of receiving it over unverified TLS."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from mailtool.config import Config, OutboundConfig
from mailtool.dns import Resolver
from mailtool.errors import TemporaryFailure
from mailtool.mta.authn.mtasts import MtaStsCache, check_mx, enforce_on_route
from mailtool.mta.outbound import Settings, deliver
from mailtool.mta.routing import route_for
from tests.mta.authn.conftest import Sink, txt
from tests.peers.https import HTTPSServer

POLICY = b"version: STSv1\nmode: enforce\nmx: mx.b.test\nmax_age: 86400\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def policies(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a node caches policies: the data dir, or the cluster's database."""
    if request.param == "sqlite":
        return tmp_path / "data"
    from mailtool.store.pg.caches import PgPolicyCache

    return PgPolicyCache(request.getfixturevalue("pg_database"))


@pytest.fixture
def lab(dns_server, certificate_authority, tmp_path: Path, policies: Any):
    https = HTTPSServer(
        "127.0.0.1",
        certificate_authority.issue_cert("mta-sts.b.test"),
        {("mta-sts.b.test", "/.well-known/mta-sts.txt"): (200, "text/plain", POLICY)},
    ).start()
    dns = dns_server(
        [
            txt("_mta-sts.b.test", "v=STSv1; id=20261127"),
            "host-record=mta-sts.b.test,127.0.0.1",
            "mx-host=b.test,mx.b.test,10",
            "host-record=mx.b.test,127.0.0.1",
        ]
    )
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    resolver = Resolver([dns.address], timeout=3)
    cache = MtaStsCache(policies, resolver, https_port=https.port, cafile=str(ca_file))
    yield cache, resolver, ca_file
    https.stop()


def test_policy_is_fetched_cached_and_survives_a_dns_outage(
    lab, tmp_path: Path, policies: Any
) -> None:
    cache, _resolver, _ca = lab
    policy = asyncio.run(cache.policy_for("b.test"))
    assert policy is not None
    assert (policy.mode, policy.mx, policy.max_age, policy.id) == (
        "enforce", ("mx.b.test",), 86400, "20261127"
    )
    if isinstance(policies, Path):
        assert (tmp_path / "data" / "mta-sts" / "b.test.json").exists()
    # RFC 8461 §10.2: an attacker who blocks DNS cannot remove the cached policy (on
    # PostgreSQL: nor make another node forget it)
    blind = MtaStsCache(policies, Resolver(["127.0.0.1:9"], timeout=0.3))
    assert asyncio.run(blind.policy_for("b.test")) == policy
    assert asyncio.run(cache.policy_for("nosts.test")) is None


def test_check_mx_rules(lab) -> None:
    cache, _r, _ca = lab
    policy = asyncio.run(cache.policy_for("b.test"))
    assert check_mx(policy, "mx.b.test", tls_ok=True, cert_ok=True)
    assert not check_mx(policy, "mx.b.test", tls_ok=True, cert_ok=False)
    assert not check_mx(policy, "mx.b.test", tls_ok=False, cert_ok=False)
    assert not check_mx(policy, "other.b.test", tls_ok=True, cert_ok=True)
    testing = dataclasses.replace(policy, mode="testing")
    assert check_mx(testing, "other.b.test", tls_ok=False, cert_ok=False)
    assert check_mx(None, "any", tls_ok=False, cert_ok=False)


def _deliver(resolver: Resolver, policy, port: int) -> list:
    cfg = Config(hostname="mail.a.test", outbound=OutboundConfig(port=port))

    async def go() -> list:
        route = enforce_on_route(await route_for(cfg, resolver, "b.test"), policy)
        assert route.tls == "required" and route.verify_tls
        return await deliver(route, "alice@a.test", ["bob@b.test"],
                             b"Subject: hi\r\n\r\nhi\r\n", Settings(helo="mail.a.test"))

    return asyncio.run(go())


@pytest.mark.parametrize(("cert_name", "outcome"), [("wrong.test", "deferred"),
                                                    ("mx.b.test", "delivered")])
def test_enforce_defers_on_a_bad_certificate(
    lab, certificate_authority, tmp_path: Path, monkeypatch, cert_name: str, outcome: str
) -> None:
    cache, resolver, ca_file = lab
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the chain is trusted: only the name
    policy = asyncio.run(cache.policy_for("b.test"))
    sink = Sink(certificate_authority.issue_cert(cert_name), tmp_path)
    sink.controller.start()
    try:
        results = _deliver(resolver, policy, sink.controller.port)
    finally:
        sink.controller.stop()
    assert [r.outcome for r in results] == [outcome]
    assert len(sink.messages) == (1 if outcome == "delivered" else 0)


def test_no_matching_mx_defers(lab) -> None:
    cache, _r, _ca = lab
    policy = dataclasses.replace(asyncio.run(cache.policy_for("b.test")), mx=("*.c.test",))
    with pytest.raises(TemporaryFailure) as err:
        _deliver(_r, policy, 25)
    assert err.value.enhanced == "4.7.5"


@pytest.mark.parametrize(("cert_name", "status"), [("wrong.test", "pending"),
                                                   ("mx.b.test", "delivered")])
def test_the_relay_enforces_the_policy_on_queued_mail(
    lab, certificate_authority, tmp_path: Path, monkeypatch, cert_name: str, status: str
) -> None:
    """Through the queue runner's relay: a queued message waits rather than going to an MX
    whose certificate does not match, and goes when it does."""
    from mailtool import config as config_mod
    from mailtool.mta.relay import Relay
    from mailtool.store.queue import Queue

    cache, resolver, ca_file = lab
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    sink = Sink(certificate_authority.issue_cert(cert_name), tmp_path)
    cfg = config_mod.from_dict({
        "data_dir": str(tmp_path / "data"),
        "hostname": "mail.a.test",
        "outbound": {"port": sink.controller.port, "connect_timeout": 5, "timeout": 10},
        "auth": {"mta_sts": True, "mta_sts_port": cache.https_port},
    })
    queue = Queue(tmp_path / "queue")
    relay = Relay(cfg, queue=lambda: queue, resolver=resolver)
    assert relay.sts is not None
    qid = queue.enqueue("alice@a.test", ["bob@b.test"], b"Subject: hi\r\n\r\nhi\r\n",
                        metadata={"local": [], "remote": ["bob@b.test"]}).id
    sink.controller.start()
    try:
        asyncio.run(relay.process(qid))
    finally:
        sink.controller.stop()
    import time

    from mailtool.mta.authn.tlsrpt import TlsReportLog, day_of

    # the attempt is recorded for TLS-RPT, with the policy that governed it
    (attempt,) = TlsReportLog(tmp_path / "data").attempts(day_of(time.time()))
    assert (attempt.domain, attempt.mx_host, attempt.policy_type) == ("b.test", "mx.b.test", "sts")
    assert attempt.success is (status == "delivered")
    if status == "delivered":
        assert len(sink.messages) == 1
    else:
        assert attempt.failure_type == "certificate-host-mismatch"
        (rcpt,) = queue.get(qid).recipients
        assert rcpt.status == "pending" and sink.messages == []
        assert "4.7" in (rcpt.last_error or ""), rcpt.last_error
