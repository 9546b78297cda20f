"""``mailtool diagnose`` against the loopback lab (tests/diagnose/conftest.py):
each check family has a passing case (good.test) and failing ones (bad.test,
partly.test, ...)."""

from __future__ import annotations

import io
import json
import re

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli

_cache: dict[tuple[str, ...], tuple[int, dict]] = {}


def run(lab, domain: str, *extra: str) -> tuple[int, dict]:
    key = (domain, *extra)
    if key not in _cache:
        result = CliRunner().invoke(cli, lab.args(domain, "--json", *extra))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        _cache[key] = (result.exit_code, json.loads(result.output))
    return _cache[key]


def statuses(report: dict, check_id: str) -> list[str]:
    return [f["status"] for f in report["findings"] if f["id"] == check_id]


def finding(report: dict, check_id: str) -> dict:
    return next(f for f in report["findings"] if f["id"] == check_id)


# ------------------------------------------------------------------ whole report


def test_good_domain_passes_and_exits_0(lab):
    code, report = run(lab, "good.test", "--selector", "sel")
    assert code == 0
    assert report["summary"]["fail"] == 0 and report["summary"]["error"] == 0
    assert report["exit_code"] == 0


def test_strict_turns_warnings_into_exit_1(lab):
    code, report = run(lab, "good.test", "--strict")
    assert report["summary"]["warn"] >= 1  # the lab's TLSA answers are not DNSSEC-validated
    assert code == 1


def test_broken_domain_exits_2(lab):
    code, report = run(lab, "bad.test")
    assert code == 2 and report["summary"]["fail"] > 5


def test_inconclusive_exits_3(lab):
    code, report = run(lab, "servfail.test", "--only", "routing")
    assert statuses(report, "routing.mx.present") == ["error"]
    assert code == 3


def test_json_schema_is_stable(lab):
    _, report = run(lab, "good.test", "--selector", "sel")
    assert report["schema"] == "mailtool.diagnose/1"
    assert set(report) == {
        "schema",
        "domain",
        "started",
        "duration",
        "nameservers",
        "groups",
        "summary",
        "exit_code",
        "findings",
    }
    keys = {
        "id",
        "family",
        "status",
        "title",
        "subject",
        "observed",
        "expected",
        "why",
        "rfc",
        "fix",
        "reproduce",
    }
    assert all(set(f) == keys for f in report["findings"])
    assert set(report["groups"]) == {
        "routing",
        "policy",
        "transport",
        "client",
        "reputation",
        "cross",
    }


def test_every_failure_says_why_how_to_fix_and_how_to_see_it(lab):
    _, report = run(lab, "bad.test")
    for f in report["findings"]:
        if f["status"] == "fail":
            assert f["why"] and f["fix"], f["id"]
    assert finding(report, "transport.relay")["reproduce"].startswith("swaks --server 127.0.0.11")
    assert "dig @127.0.0.1 -p" in finding(report, "policy.spf.includes")["reproduce"]


def test_only_and_skip(lab):
    _, only = run(lab, "good.test", "--only", "policy")
    assert {f["family"] for f in only["findings"]} == {"policy"}
    _, skipped = run(lab, "good.test", "--skip", "transport", "--skip", "client")
    assert not {"transport", "client"} & {f["family"] for f in skipped["findings"]}


def test_never_leaves_loopback(lab):
    for domain in ("good.test", "bad.test", "partly.test"):
        _, report = run(lab, domain)
        for f in report["findings"]:
            for ip in re.findall(r"\[(\d+\.\d+\.\d+\.\d+)\]", f["subject"]):
                assert ip.startswith("127."), f


def test_rich_report_groups_by_family_with_a_summary(lab):
    import asyncio

    from rich.console import Console

    from mailtool.diagnose.context import Options
    from mailtool.diagnose.report import Report
    from mailtool.diagnose.runner import diagnose
    from mailtool.dns import Resolver

    report = asyncio.run(
        diagnose(
            "bad.test",
            Resolver([lab.dns.address]),
            Options(dnsbls=("bl.test",), allow_private=True),
            only=["routing", "policy"],
        )
    )
    assert isinstance(report, Report)
    out = io.StringIO()
    Console(file=out, width=160).print(report)
    text = out.getvalue()
    assert "routing" in text and "policy" in text and "policy.spf.loop" in text
    assert re.search(r"bad\.test: \d+ pass, .* \d+ fail in", text)


def test_usage_errors_exit_64(lab):
    runner = CliRunner()
    assert runner.invoke(cli, ["diagnose", "x.test", "--only", "nonsense"]).exit_code == 64
    assert runner.invoke(cli, ["diagnose", "x.test", "--port-map", "25:26"]).exit_code == 64
    assert runner.invoke(cli, ["diagnose"]).exit_code == 64


# ------------------------------------------------------------------ routing


def test_routing_pass(lab):
    _, r = run(lab, "good.test")
    for check in (
        "routing.mx.present",
        "routing.mx.target",
        "routing.mx.address",
        "routing.ptr",
        "routing.fcrdns",
    ):
        assert statuses(r, check) == ["pass"], check
    assert statuses(r, "routing.mx.public") == ["info"]  # --allow-private


def test_routing_fail(lab):
    _, r = run(lab, "bad.test")
    targets = {f["subject"]: f["status"] for f in r["findings"] if f["id"] == "routing.mx.target"}
    assert targets == {"127.0.0.11": "fail", "alias.bad.test": "fail"}
    assert "CNAME" in finding(r, "routing.mx.target")["observed"] or any(
        "CNAME" in f["observed"] for f in r["findings"] if f["id"] == "routing.mx.target"
    )
    code, nx = run(lab, "nowhere.test", "--only", "routing")
    assert statuses(nx, "routing.mx.present") == ["fail"] and code == 2


def test_private_address_fails_without_allow_private(lab):
    args = [
        a for a in lab.args("good.test", "--only", "routing", "--json") if a != "--allow-private"
    ]
    result = CliRunner().invoke(cli, args)
    assert statuses(json.loads(result.output), "routing.mx.public") == ["fail"]


def test_null_mx_is_reported_not_failed(lab):
    _, r = run(lab, "null.test", "--only", "routing")
    assert statuses(r, "routing.mx.null") == ["info"]


def test_missing_or_unconfirmed_ptr_warns(lab):
    _, r = run(lab, "noptr.test", "--only", "routing")
    ptr = {f["subject"]: f["status"] for f in r["findings"] if f["id"] == "routing.ptr"}
    assert ptr == {"mx1.noptr.test [127.0.0.13]": "warn", "mx2.noptr.test [127.0.0.14]": "pass"}
    assert statuses(r, "routing.fcrdns") == ["warn"]  # elsewhere.test has no address


# ------------------------------------------------------------------ sender policy


def test_spf_pass(lab):
    _, r = run(lab, "good.test")
    for check in (
        "policy.spf.record",
        "policy.spf.syntax",
        "policy.spf.all",
        "policy.spf.lookups",
        "policy.spf.void",
        "policy.spf.includes",
        "policy.spf.loop",
    ):
        assert statuses(r, check) == ["pass"], check


def test_spf_fail(lab):
    _, r = run(lab, "bad.test")
    for check in (
        "policy.spf.syntax",
        "policy.spf.all",
        "policy.spf.lookups",
        "policy.spf.void",
        "policy.spf.includes",
        "policy.spf.loop",
    ):
        assert statuses(r, check) == ["fail"], check
    assert "loop.bad.test" in finding(r, "policy.spf.loop")["observed"]


def test_dmarc(lab):
    _, good = run(lab, "good.test")
    assert statuses(good, "policy.dmarc.policy") == ["pass"]
    assert statuses(good, "policy.dmarc.rua") == ["pass"]
    _, bad = run(lab, "bad.test")
    assert statuses(bad, "policy.dmarc.policy") == ["warn"]
    assert statuses(bad, "policy.dmarc.rua") == ["warn"]
    _, partly = run(lab, "partly.test")
    assert statuses(partly, "policy.dmarc.record") == ["warn"]


def test_dkim_key_with_selector(lab):
    _, good = run(lab, "good.test", "--selector", "sel")
    assert statuses(good, "policy.dkim.key") == ["pass"]
    assert "RSA 2048" in finding(good, "policy.dkim.key")["observed"]
    _, bad = run(lab, "bad.test", "--selector", "sel", "--selector", "gone", "--only", "policy")
    assert sorted(statuses(bad, "policy.dkim.key")) == ["fail", "warn"]


def test_dkim_without_selector_is_unknown_never_missing(lab):
    _, good = run(lab, "good.test")
    assert statuses(good, "policy.dkim.selectors") == ["info"]
    assert "unknown" in finding(good, "policy.dkim.selectors")["observed"]
    assert statuses(good, "policy.dkim.key") == []
    _, partly = run(lab, "partly.test")  # RFC 8020: NXDOMAIN at _domainkey
    assert statuses(partly, "policy.dkim.domainkey") == ["warn"]


# ------------------------------------------------------------------ transport


def test_transport_pass(lab):
    _, r = run(lab, "good.test")
    for check in (
        "transport.smtp.connect",
        "transport.smtp.greeting",
        "transport.tls.starttls",
        "transport.tls.version",
        "transport.tls.chain",
        "transport.tls.expiry",
        "transport.tls.name",
        "transport.relay",
        "transport.postmaster",
        "transport.mtasts.record",
        "transport.mtasts.policy",
        "transport.mtasts.mx",
        "transport.tlsrpt",
        "transport.dane.tlsa",
        "transport.dane.match",
    ):
        assert statuses(r, check) == ["pass"], check


def test_transport_fail(lab):
    _, bad = run(lab, "bad.test")
    assert statuses(bad, "transport.relay") == ["fail"]  # open relay
    assert statuses(bad, "transport.tls.starttls") == ["warn"]  # opportunistic: warn
    assert statuses(bad, "transport.mtasts.policy") == ["fail"]
    assert statuses(bad, "transport.tlsrpt") == ["warn"]


def test_certificate_name_severity_follows_the_policy(lab):
    _, partly = run(lab, "partly.test")  # MTA-STS enforce + TLSA: a wrong name is fatal
    assert statuses(partly, "transport.tls.name") == ["fail"]
    assert statuses(partly, "transport.dane.match") == ["fail"]
    assert statuses(partly, "transport.mtasts.mx") == ["pass"]


def test_greeting_wait_is_at_least_20_seconds(lab):
    result = CliRunner().invoke(cli, ["diagnose", "x.test", "--greeting-timeout", "5"])
    assert result.exit_code == 64


# ------------------------------------------------------------------ client access


def test_client_access(lab):
    _, good = run(lab, "good.test")
    assert statuses(good, "client.srv") == ["pass"]
    services = {f["subject"]: f["status"] for f in good["findings"] if f["id"] == "client.service"}
    assert services["submission mx.good.test:587"] == "pass"
    assert services["imaps mx.good.test:993"] == "info"  # not advertised, not there
    assert statuses(good, "client.plaintext_login") == ["pass"]
    assert statuses(good, "client.cert") == ["pass"]
    _, partly = run(lab, "partly.test")  # no SRV: the MX host is a guess, so it only warns
    assert statuses(partly, "client.cert") == ["warn"]


def test_client_access_without_tls_fails(lab):
    _, r = run(lab, "clients.test", "--only", "client")
    services = {f["subject"]: f["status"] for f in r["findings"] if f["id"] == "client.service"}
    assert services[f"imap imap.clients.test:{lab.dovecot.imap_port}"] == "pass"
    assert services[f"pop3 imap.clients.test:{lab.dovecot.pop3_port}"] == "pass"
    assert not any(s.startswith("imaps ") for s in services)  # SRV "." : not probed
    unadvertised = ("submissions ", "submission ", "pop3s ")
    assert {v for k, v in services.items() if k.startswith(unadvertised)} == {"info"}
    # no TLS at all: login in clear is that fault's consequence, failed once (client.tls)
    assert statuses(r, "client.plaintext_login") == ["info", "info"]
    assert statuses(r, "client.tls") == ["fail", "fail"]
    assert "info" in statuses(r, "client.srv")  # _imaps._tcp "." = not offered


# ------------------------------------------------------------------ reputation


def test_dnsbl(lab):
    _, good = run(lab, "good.test")
    assert statuses(good, "reputation.dnsbl.health") == ["pass"]
    assert statuses(good, "reputation.dnsbl.listed") == ["pass"]
    _, bad = run(lab, "bad.test")
    assert "fail" in statuses(bad, "reputation.dnsbl.listed")
    _, dead = run(lab, "good.test", "--only", "reputation", "--dnsbl", "dead.test")
    # a list that does not work is unusable (info), not an inconclusive domain (exit 3)
    assert statuses(dead, "reputation.dnsbl.health") == ["pass", "info"]


# ------------------------------------------------------------------ cross-checks


def test_cross_checks(lab):
    _, good = run(lab, "good.test")
    for check in ("cross.ehlo_mx", "cross.ptr_ehlo", "cross.mtasts_cert"):
        assert statuses(good, check) == ["pass"], check
    _, bad = run(lab, "bad.test")
    assert statuses(bad, "cross.ehlo_mx") == ["warn"]
    _, partly = run(lab, "partly.test")
    # the certificate lacks the MX name: transport.tls.name fails, this one names it
    assert statuses(partly, "cross.mtasts_cert") == ["info"]
    assert "transport.tls.name" in finding(partly, "cross.mtasts_cert")["observed"]


@pytest.mark.parametrize(
    "group", ["routing", "policy", "transport", "client", "reputation", "cross"]
)
def test_every_group_has_checks_in_the_catalogue(group):
    import mailtool.diagnose.runner as runner
    from mailtool.diagnose.findings import CATALOGUE

    for module in runner.GROUPS[group]:
        __import__(f"mailtool.diagnose.{module}")
    assert any(c.family == group for c in CATALOGUE.values())


def test_dkim_key_of_an_unknown_type_is_a_failure_not_an_exception() -> None:
    # found by tests/fuzz/fuzz_authrecords.py: the RFC 6376 example key with one digit
    # of its algorithm OID changed made cryptography raise UnsupportedAlgorithm
    from mailtool.diagnose.dkim import key_description
    from mailtool.diagnose.findings import Status

    p = (
        "MIGfMA0GCSqGSIb6DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
        "IxN2SnFCjxOCKG9v3b4jYfcTNh4ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0"
        "fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
    )
    assert key_description(p, "rsa") == (Status.FAIL, "p= is not a public key")
