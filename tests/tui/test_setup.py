"""``mailtool tui --setup``: RFC 6186 SRV records served by a real resolver (dnsmasq)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailtool.client.discover import parse_autoconfig
from mailtool.config import load
from tests.tui.servers import USER


def run_setup_cli(tmp_path, nameserver: str, *extra: str) -> tuple:
    """``mailtool tui --setup alice --insecure EXTRA`` on an empty config file."""
    config = tmp_path / "mailtool.toml"
    config.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "mailtool", "--config", str(config), "tui", "--setup", USER,
         "--insecure", *extra],
        capture_output=True, text=True, timeout=120,
        env={"MAILTOOL_NAMESERVERS": nameserver, "PATH": "/usr/bin:/bin"},
    )
    return result, config


@pytest.mark.peer
def test_setup_finds_servers_by_srv_and_writes_the_account(mail_server, dns_server, tmp_path):
    dns = dns_server([
        f"srv-host=_imap._tcp.example.test,mail.example.test,{mail_server.imap_port},0,1",
        f"srv-host=_submission._tcp.example.test,mail.example.test,{mail_server.smtp_port},0,1",
        "host-record=mail.example.test,127.0.0.1",
    ])
    result, config = run_setup_cli(tmp_path, f"{dns.host}:{dns.port}")
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


class _Forwarder:
    """A TCP forwarder on ``host``:ephemeral to 127.0.0.1:``target``, in a thread."""

    def __init__(self, host: str, target: int) -> None:
        import socketserver
        import threading

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                import socket as s

                up = s.create_connection(("127.0.0.1", target))

                def copy(a, b) -> None:
                    try:
                        while data := a.recv(65536):
                            b.sendall(data)
                    except OSError:
                        pass
                    finally:
                        b.close()

                t = threading.Thread(target=copy, args=(up, self.request), daemon=True)
                t.start()
                copy(self.request, up)
                t.join(5)

        self.server = socketserver.ThreadingTCPServer((host, 0), Pipe)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_setup_looks_names_up_with_our_resolver_not_the_systems(mail_server, dns_server,
                                                                 tmp_path):
    """Issue 21 bug 4: with MAILTOOL_NAMESERVERS set, host names still went to the system
    resolver first. Here the system (/etc/hosts) has "localhost" at 127.0.0.1, where nothing
    listens on these ports; our resolver says 127.0.0.3, where the servers are."""
    if mail_server.kind == "dovecot":
        pytest.skip("this Dovecot has no TLS, which setup requires")
    imap, smtp = (_Forwarder("127.0.0.3", p) for p in (mail_server.imap_port,
                                                        mail_server.smtp_port))
    try:
        dns = dns_server([
            f"srv-host=_imap._tcp.example.test,localhost,{imap.port},0,1",
            f"srv-host=_submission._tcp.example.test,localhost,{smtp.port},0,1",
            "host-record=localhost,127.0.0.3",
        ])
        result, config = run_setup_cli(tmp_path, f"{dns.host}:{dns.port}")
    finally:
        imap.close()
        smtp.close()
    assert result.returncode == 0, result.stderr
    assert load(config).accounts["example"].imap == f"localhost:{imap.port}"


def test_setup_with_the_servers_given_tries_nothing_else(mail_server, tmp_path):
    """Issue 21 point 22 / bug 3: --imap/--smtp skip guessing (it tried 12 guesses, 93 s)."""
    if mail_server.kind == "dovecot":
        pytest.skip("this Dovecot has no TLS, which setup requires")
    result, config = run_setup_cli(tmp_path, "127.0.0.1:9",
                                   "--imap", f"127.0.0.1:{mail_server.imap_port}",
                                   "--smtp", f"127.0.0.1:{mail_server.smtp_port}")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("trying ") == 2, result.stderr  # the two given, no guess
    account = load(config).accounts["example"]
    assert account.imap == f"127.0.0.1:{mail_server.imap_port}"
    assert account.smtp == f"127.0.0.1:{mail_server.smtp_port}"


def test_tui_without_an_account_offers_setup(tmp_path):
    """Issue 21 point 22: with no config at all, ``mailtool tui`` offers setup."""
    from tests.terminal import screen_until

    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "MAILTOOL_SYSTEM_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path)}
    piped = subprocess.run([sys.executable, "-m", "mailtool", "tui"], capture_output=True,
                           text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert piped.returncode == 2
    assert "mailtool tui --setup you@example.com" in piped.stderr
    # on a terminal: it asks for the address
    seen = screen_until([sys.executable, "-m", "mailtool", "tui"], b"Your email address", env)
    assert b"No mail account is configured yet" in seen, seen
