"""[tls] acme = true against a real ACME server, Debian's pebble (RFC 8555): serve starts
on a self-signed placeholder, gets a certificate by http-01 on its own ``http`` listener
or tls-alpn-01 on its own ``https`` one,
and without a restart every TLS port presents it: clients that trust only pebble's
root verify 993, 465, 995, 443 and the STARTTLS ports (143, 587, 25, 110)."""

from __future__ import annotations

import http.client
import imaplib
import poplib
import smtplib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer, render_toml
from tests.peers import free_port
from tests.peers.dnsmasq import DnsServer
from tests.peers.pebble import PebbleServer

NAMES = ("mail.test", "mta-sts.a.test", "autoconfig.a.test")


class NamedContext(ssl.SSLContext):
    """A verifying client context that checks the certificate against ``name`` whatever
    address the client library connected to (the test names resolve nowhere else)."""

    name = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["server_hostname"] = self.name
        return super().wrap_socket(sock, *args, **kwargs)


def verifying(root_pem: str, name: str) -> NamedContext:
    ctx = NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=root_pem)
    ctx.name = name
    return ctx


@pytest.fixture(scope="module", params=["http-01", "tls-alpn-01"])
def issued(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MailtoolServer, str]]:
    """A server that got its certificate from pebble by one challenge type (RFC 8555 §8.3
    on our http listener, RFC 8737 on our https one), and pebble's root."""
    challenge = request.param
    work = tmp_path_factory.mktemp("acme")
    records = [f"host-record={name},127.0.0.1" for name in NAMES]
    with DnsServer(work / "dns", records) as dns:
        http_port, https_port = free_port(), free_port()
        with PebbleServer(work / "pebble", dns=dns.address, http_port=http_port,
                          tls_port=https_port) as pebble:  # fmt: skip
            server = MailtoolServer(
                work / "mt",
                services=("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"),
                config={
                    "listen": {"https": f"127.0.0.1:{https_port}",
                               "http": f"127.0.0.1:{http_port}"},
                    "tls": {"acme": True, "acme_directory": pebble.directory,
                            "acme_challenge": challenge, "acme_cafile": pebble.cafile,
                            "acme_email": "admin@a.test"},
                },
            )  # fmt: skip
            server.workdir.mkdir(parents=True)
            server.config_path.write_text(render_toml(server.config))
            server.cli("domain", "add", "a.test")
            server.start()
            try:
                deadline = time.monotonic() + 90
                while "acme.issued" not in server.log() and time.monotonic() < deadline:
                    assert "acme.failed" not in server.log(), server.log() + pebble.log
                    time.sleep(0.2)
                assert "acme.issued" in server.log(), server.log() + pebble.log
                # the CA's validation really reached our listener, by the chosen challenge
                seen = "outcome=acme-tls-alpn" if challenge == "tls-alpn-01" else (
                    "path=/.well-known/acme-challenge/")  # fmt: skip
                assert seen in server.log(), server.log()
                yield server, pebble.root_pem()
            finally:
                assert server.stop() == 0


def test_certificate_files_are_private(issued: tuple[MailtoolServer, str]) -> None:
    server, _ = issued
    acme = server.data_dir / "tls" / "acme"
    for name in ("cert.pem", "key.pem", "account.key"):
        assert (acme / name).stat().st_mode & 0o777 == 0o600, name
    assert Path(acme).stat().st_mode & 0o777 == 0o700


def test_implicit_tls_ports_verify(issued: tuple[MailtoolServer, str]) -> None:
    server, root = issued
    ctx = verifying(root, "mail.test")
    with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=ctx) as imap:
        assert imap.sock.getpeercert() is not None
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=ctx) as smtp:
        assert smtp.noop()[0] == 250
    pop = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=ctx)
    pop.quit()


def test_starttls_ports_verify(issued: tuple[MailtoolServer, str]) -> None:
    server, root = issued
    ctx = verifying(root, "mail.test")
    with imaplib.IMAP4("127.0.0.1", server.port("imap")) as imap:
        assert imap.starttls(ssl_context=ctx)[0] == "OK"
    for service in ("submission", "smtp"):
        with smtplib.SMTP("127.0.0.1", server.port(service)) as smtp:
            assert smtp.starttls(context=ctx)[0] == 220
    pop = poplib.POP3("127.0.0.1", server.port("pop3"))
    pop.stls(context=ctx)
    pop.quit()


@pytest.mark.parametrize("name", ["mta-sts.a.test", "autoconfig.a.test"])
def test_https_names_verify(issued: tuple[MailtoolServer, str], name: str) -> None:
    server, root = issued
    conn = http.client.HTTPSConnection(
        "127.0.0.1", server.port("https"), context=verifying(root, name), timeout=10
    )
    path = "/.well-known/mta-sts.txt" if name.startswith("mta-sts") else "/mail/config-v1.1.xml"
    conn.request("GET", path, headers={"Host": name})
    assert conn.getresponse().status == 200
    conn.close()


def test_the_self_signed_placeholder_would_not_verify(issued: tuple[MailtoolServer, str]) -> None:
    """The root really is what makes the others pass: another name fails."""
    server, root = issued
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=verifying(root, "x.test"))
