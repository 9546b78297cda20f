"""``mailtool tui --setup``: RFC 6186 SRV records served by a real resolver (dnsmasq)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailtool.client.discover import parse_autoconfig
from mailtool.config import load
from tests.tui.servers import USER


@pytest.mark.peer
def test_setup_finds_servers_by_srv_and_writes_the_account(mail_server, dns_server, tmp_path):
    dns = dns_server([
        f"srv-host=_imap._tcp.example.test,mail.example.test,{mail_server.imap_port},0,1",
        f"srv-host=_submission._tcp.example.test,mail.example.test,{mail_server.smtp_port},0,1",
        "host-record=mail.example.test,127.0.0.1",
    ])
    config = tmp_path / "mailtool.toml"
    config.write_text("")
    env = {"MAILTOOL_NAMESERVERS": f"{dns.host}:{dns.port}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "mailtool", "--config", str(config), "tui", "--setup", USER,
         "--insecure"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    tried = f"trying imap mail.example.test:{mail_server.imap_port} (starttls, from srv)"
    assert tried in result.stderr
    if mail_server.kind == "dovecot":
        # RFC 6186 _imap._tcp means STARTTLS; this Dovecot has no TLS: no account written
        assert result.returncode != 0
        assert "could not find a working" in result.stderr
        assert config.read_text() == ""
        return
    assert result.returncode == 0, result.stderr
    account = load(config).accounts["example"]
    assert account.email == USER
    assert account.imap == f"mail.example.test:{mail_server.imap_port}"
    assert account.imap_tls == "starttls" and account.smtp_tls == "starttls"
    assert account.verify_tls is False
    assert "authentication offered: " in result.stdout and "PLAIN" in result.stdout


def test_autoconfig_xml():
    xml = b"""<clientConfig version="1.1"><emailProvider id="example.test">
      <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%</hostname><port>993</port>
        <socketType>SSL</socketType></incomingServer>
      <incomingServer type="pop3"><hostname>pop.example.test</hostname><port>995</port>
        <socketType>SSL</socketType></incomingServer>
      <outgoingServer type="smtp"><hostname>smtp.example.test</hostname><port>587</port>
        <socketType>STARTTLS</socketType></outgoingServer></emailProvider></clientConfig>"""
    found = parse_autoconfig(xml, "a@example.test")
    assert [(c.proto, c.hostport, c.tls) for c in found] == [
        ("imap", "imap.example.test:993", "tls"), ("smtp", "smtp.example.test:587", "starttls")]
