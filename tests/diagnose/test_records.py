"""Record syntax faults diagnose used to pass (issue 19's table, points 2, 3 and
10): one lab domain per planted fault, served by dnsmasq, each failing before
diagnose read its records through mailtool.policy.

- pct.test: DMARC ``pct=150``;
- rua.test: DMARC ``rua=dmarc@rua.test`` (no ``mailto:``);
- ip.test: SPF ``ip4:192.0.2.300`` and ``ip6:2001:db8::/129``;
- ptr.test: SPF ``ptr`` and a term after ``-all``;
- rpt.test: TLS-RPT ``rua`` without a scheme;
- stsid.test: MTA-STS ``id=2024-06-01!``;
- dk.test: a DKIM key whose h= excludes sha256 (the server ignores that key);
- a.b.org.test: DMARC rua to its own organisational domain (org.test) from a
  sub-subdomain: no warning (the org domain comes from the Public Suffix List,
  not "drop the first label").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from tests.mta.authn.conftest import txt
from tests.peers.dnsmasq import DnsServer

SPF_OK = "v=spf1 -all"
DMARC_OK = "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"
ZONE = [
    txt("pct.test", SPF_OK),
    txt("_dmarc.pct.test", "v=DMARC1; p=reject; pct=150; rua=mailto:dmarc@pct.test"),
    txt("rua.test", SPF_OK),
    txt("_dmarc.rua.test", "v=DMARC1; p=reject; rua=dmarc@rua.test"),
    txt("ip.test", "v=spf1 ip4:192.0.2.300 ip6:2001:db8::/129 -all"),
    txt("_dmarc.ip.test", DMARC_OK.format(d="ip.test")),
    txt("ptr.test", "v=spf1 ptr -all mx"),
    txt("_dmarc.ptr.test", DMARC_OK.format(d="ptr.test")),
    txt("_smtp._tls.rpt.test", "v=TLSRPTv1; rua=tls@rpt.test"),
    txt("_mta-sts.stsid.test", "v=STSv1; id=2024-06-01!"),
    txt("a.b.org.test", SPF_OK),
    txt("_dmarc.a.b.org.test", "v=DMARC1; p=reject; rua=mailto:dmarc@org.test"),
    txt("sel._domainkey.dk.test", f"v=DKIM1; k=ed25519; h=sha1; p={'A' * 43}="),
]


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory: Any) -> Iterator[str]:
    with DnsServer(tmp_path_factory.mktemp("records-dns"), ZONE) as dns:
        yield dns.address


def diagnose(nameserver: str, domain: str, group: str, *extra: str) -> list[dict[str, Any]]:
    args = ["diagnose", domain, "--nameserver", nameserver, "--only", group, "--json", *extra]
    args += ["--timeout", "2", "--allow-private"]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.output)["findings"]


def of(findings: list[dict[str, Any]], check_id: str) -> list[tuple[str, str]]:
    return [(f["status"], f["observed"]) for f in findings if f["id"] == check_id]


def test_dmarc_pct_over_100_fails(nameserver: str) -> None:
    found = of(diagnose(nameserver, "pct.test", "policy"), "policy.dmarc.policy")
    assert [s for s, _ in found] == ["fail"]
    assert "pct=150" in found[0][1] and "RFC 7489 §6.3" in found[0][1]


def test_dmarc_rua_without_mailto_fails(nameserver: str) -> None:
    found = of(diagnose(nameserver, "rua.test", "policy"), "policy.dmarc.rua")
    assert [s for s, _ in found] == ["fail"]
    assert "dmarc@rua.test" in found[0][1] and "mailto:" in found[0][1]


def test_spf_bad_ip_literal_and_prefix_length_fail(nameserver: str) -> None:
    found = of(diagnose(nameserver, "ip.test", "policy"), "policy.spf.syntax")
    assert [s for s, _ in found] == ["fail", "fail"]
    assert "192.0.2.300" in found[0][1] and "/129" in found[1][1]
    assert all("RFC 7208 §5.6" in observed for _, observed in found)


def test_spf_ptr_and_a_term_after_all_warn(nameserver: str) -> None:
    findings = diagnose(nameserver, "ptr.test", "policy")
    found = of(findings, "policy.spf.syntax")
    assert [s for s, _ in found] == ["warn", "warn"]
    assert "ptr is deprecated" in found[0][1] and "RFC 7208 §5.5" in found[0][1]
    assert "'mx' after all" in found[1][1] and "RFC 7208 §5.1" in found[1][1]
    assert not [f for f in findings if f["id"].startswith("policy.spf") and f["status"] == "fail"]


def test_tlsrpt_rua_without_scheme_fails(nameserver: str) -> None:
    found = of(diagnose(nameserver, "rpt.test", "transport"), "transport.tlsrpt")
    assert [s for s, _ in found] == ["fail"]
    assert "tls@rpt.test" in found[0][1] and "RFC 8460 §3" in found[0][1]


def test_mta_sts_id_with_punctuation_fails(nameserver: str) -> None:
    findings = diagnose(nameserver, "stsid.test", "transport")
    found = of(findings, "transport.mtasts.record")
    assert [s for s, _ in found] == ["fail"]
    assert "2024-06-01!" in found[0][1] and "RFC 8461 §3.1" in found[0][1]
    assert of(findings, "transport.mtasts.policy") == []  # no usable record: no policy fetch


def test_rua_to_its_own_organisational_domain_from_a_sub_subdomain_passes(
    nameserver: str,
) -> None:
    findings = diagnose(nameserver, "a.b.org.test", "policy")
    assert [s for s, _ in of(findings, "policy.dmarc.rua")] == ["pass"]
    assert [s for s, _ in of(findings, "policy.dmarc.record")] == ["pass"]


def test_dkim_key_tag_fault_fails_once_and_nothing_passes_that_key(nameserver: str) -> None:
    findings = diagnose(nameserver, "dk.test", "policy", "--selector", "sel")
    found = of(findings, "policy.dkim.key")
    assert sorted(s for s, _ in found) == ["fail", "info"]
    assert any("h=sha1" in observed and "RFC 8301 §3.1" in observed for _, observed in found)
