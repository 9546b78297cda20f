"""``mailtool dns records``: the snippet, its JSON, and a round trip — the
records it prints, served by dnsmasq, pass diagnose's DNS checks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.dns.zone import mail_records


def to_dnsmasq(records: list[dict]) -> list[str]:
    out = []
    for r in records:
        name, value = r["name"].rstrip("."), r["value"]
        if r["type"] == "MX":
            pref, host = value.split()
            out.append(f"mx-host={name},{host.rstrip('.')},{pref}")
        elif r["type"] in ("A", "AAAA"):
            out.append(f"host-record={name},{value}")
        elif r["type"] == "TXT":
            strings = value.replace('" "', '","')  # dnsmasq: one "..." per string
            out.append(f"txt-record={name},{strings}")
        elif r["type"] == "SRV":
            prio, weight, port, target = value.split()
            out.append(f"srv-host={name},{target.rstrip('.')},{port},{prio},{weight}")
        elif r["type"] == "CNAME":
            out.append(f"cname={name},{value.rstrip('.')}")
    return out


def test_snippet_has_every_record_kind():
    snip = mail_records("example.test", "mx.example.test", ipv4="127.0.0.9", dkim_public_key="QUJD")
    kinds = {(r.name, r.rtype) for r in snip.records}
    assert ("example.test.", "MX") in kinds and ("mx.example.test.", "A") in kinds
    for name in (
        "_dmarc.example.test.",
        "mailtool._domainkey.example.test.",
        "_mta-sts.example.test.",
        "_smtp._tls.example.test.",
    ):
        assert (name, "TXT") in kinds, name
    assert sum(r.rtype == "SRV" for r in snip.records) == 6
    assert "mode: testing" in snip.mta_sts_policy and "mx: mx.example.test" in snip.mta_sts_policy
    zone = snip.to_zone()
    assert "IN MX    10 mx.example.test." in zone and "; serve at https://mta-sts" in zone


def test_long_txt_values_are_split_into_strings():
    snip = mail_records("example.test", "mx.example.test", dkim_public_key="A" * 400)
    dkim = next(r for r in snip.records if "_domainkey" in r.name)
    assert dkim.value.count('"') == 4  # two character-strings


def test_cli_json_and_dkim_key(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "dkim.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = CliRunner().invoke(
        cli,
        [
            "dns",
            "records",
            "example.test",
            "--hostname",
            "mx.example.test",
            "--dkim-key",
            str(pem),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["hostname"] == "mx.example.test"
    dkim = [r for r in data["records"] if r["name"] == "mailtool._domainkey.example.test."]
    assert dkim and "k=rsa; p=MII" in dkim[0]["value"]


def test_printed_records_pass_diagnose(dns_server):
    snip = mail_records("roundtrip.test", "mx.roundtrip.test", ipv4="127.0.0.9")
    server = dns_server(
        [
            *to_dnsmasq(snip.to_json()["records"]),
            "ptr-record=9.0.0.127.in-addr.arpa,mx.roundtrip.test",
        ]
    )
    result = CliRunner().invoke(
        cli,
        [
            "diagnose",
            "roundtrip.test",
            "--nameserver",
            server.address,
            "--only",
            "routing",
            "--only",
            "policy",
            "--allow-private",
            "--json",
        ],
    )
    report = json.loads(result.output)
    bad = [f for f in report["findings"] if f["status"] in ("fail", "error")]
    assert not bad, bad
    passed = {f["id"] for f in report["findings"] if f["status"] == "pass"}
    assert {
        "routing.mx.present",
        "routing.fcrdns",
        "policy.spf.all",
        "policy.dmarc.policy",
        "policy.dmarc.rua",
    } <= passed
