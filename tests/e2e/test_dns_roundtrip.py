"""Acceptance (issue 20 point 3): what ``mailtool dns records`` prints is what the server
serves. Its records, published as they are (dnsmasq), make ``mailtool diagnose --strict``
pass against the running server: MX, SPF, DMARC, DKIM, MTA-STS (the policy fetched from
our own [listen] https), TLS-RPT, SRV for every enabled listener, autoconfig names; every
group of checks runs (reputation against a local, empty DNSBL)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.dns.test_zone import to_dnsmasq  # the one records -> dnsmasq converter
from tests.harness import MailtoolServer, render_toml
from tests.peers.dnsmasq import DnsServer

pytestmark = pytest.mark.peer

STANDARD = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993,
            "pop3": 110, "pop3s": 995, "managesieve": 4190, "https": 443}  # fmt: skip


def test_dns_records_then_diagnose_strict_passes(
    tmp_path: Path, dns_server: Callable[..., DnsServer], certificate_authority: Any
) -> None:
    cafile = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(cafile))
    leaf = certificate_authority.issue_cert("mail.test", "mta-sts.a.test", "autoconfig.a.test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    server = MailtoolServer(
        tmp_path / "mt",
        config={"listen": {"https": "127.0.0.1:0"}, "tls": {"cert": str(cert), "key": str(key)}},
    )
    server.workdir.mkdir(parents=True)
    server.config_path.write_text(render_toml(server.config))
    server.cli("domain", "add", "a.test")
    server.cli("dkim", "keygen", "a.test")
    server.add_user("alice@a.test")
    server.cli("alias", "add", "postmaster@a.test", "alice@a.test")  # RFC 5321 §4.5.1
    zone = json.loads(
        server.cli("dns", "records", "a.test", "--ipv4", "127.0.0.1", "--json").stdout
    )
    names = {(r["name"], r["type"]) for r in zone["records"]}
    assert ("_mta-sts.a.test.", "TXT") in names and ("autoconfig.a.test.", "CNAME") in names
    assert sum(t == "SRV" for _, t in names) == 6
    dns = dns_server([*to_dnsmasq(zone["records"]), "ptr-record=1.0.0.127.in-addr.arpa,mail.test"])
    server.start()
    try:
        port_map = ",".join(f"{STANDARD[s]}={p}" for s, (_h, p) in server.listeners.items())
        result = subprocess.run(
            [sys.executable, "-m", "mailtool", "diagnose", "a.test", "--nameserver", dns.address,
             "--port-map", port_map, "--cafile", str(cafile), "--allow-private",
             "--dnsbl", "bl.test", "--timeout", "3", "--greeting-timeout", "20", "--strict",
             "--json"],
            capture_output=True, text=True, timeout=120, env=server.env,
        )  # fmt: skip
        report = json.loads(result.stdout)
        bad = [(f["id"], f["status"], f.get("observed")) for f in report["findings"]
               if f["status"] not in ("pass", "info", "skip")]  # fmt: skip
        assert result.returncode == 0 and not bad, (bad, result.stderr[-2000:])
        # the policy diagnose fetched is the one dns records printed
        served = server.log()
        assert "path=/.well-known/mta-sts.txt status=200" in served
    finally:
        assert server.stop() == 0


def test_without_https_no_mta_sts_or_autoconfig_records(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailtool", "--data-dir", str(tmp_path), "dns", "records",
         "a.test", "--hostname", "mail.a.test", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    zone = json.loads(result.stdout)
    labels = {r["name"].split(".")[0] for r in zone["records"]}
    assert not labels & {"_mta-sts", "mta-sts", "autoconfig", "autodiscover"}
    assert zone["mta_sts_policy"] == ""
    assert any("[listen] https is off" in n for n in zone["notes"])
