"""mailtool.acme.client.issue against pebble, with a plain http-01 responder of the test's
own: the same account key twice (RFC 8555 §7.3.1, the existing account is found), and a
name whose validation fails comes back in AcmeError.failed_names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509

from mailtool.acme.client import AcmeError, issue, load_or_create_account_key
from tests.peers import free_port
from tests.peers.dnsmasq import DnsServer
from tests.peers.pebble import PebbleServer

PREFIX = "/.well-known/acme-challenge/"


class Lab:
    def __init__(self, pebble: PebbleServer, answers: dict[str, str], work: Path) -> None:
        self.pebble, self.answers, self.work = pebble, answers, work

    def issue(self, names: list[str], *, skip: str = "") -> object:
        def publish(name: str, token: str, key_authorization: str) -> None:
            if name != skip:
                self.answers[token] = key_authorization

        def withdraw(name: str, token: str) -> None:
            self.answers.pop(token, None)

        return issue(
            self.pebble.directory, names,
            account_key_pem=load_or_create_account_key(self.work / "account.key"),
            email="admin@a.test", publish=publish, withdraw=withdraw,
            cafile=self.pebble.cafile,
        )  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("acme-client")
    answers: dict[str, str] = {}

    class Responder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answers.get(self.path.removeprefix(PREFIX), "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", free_port()), Responder)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    records = [f"host-record={n},127.0.0.1" for n in ("x.a.test", "y.a.test")]
    try:
        with (
            DnsServer(work / "dns", records) as dns,
            PebbleServer(
                work / "pebble", dns=dns.address, http_port=http.server_address[1]
            ) as pebble,
        ):
            yield Lab(pebble, answers, work)
    finally:
        http.shutdown()
        http.server_close()


def test_the_same_account_key_issues_twice(lab: Lab) -> None:
    serials = []
    for _ in range(2):
        issued = lab.issue(["x.a.test"])
        cert = x509.load_pem_x509_certificate(issued.fullchain_pem.encode())  # type: ignore[attr-defined]
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == ["x.a.test"]
        serials.append(cert.serial_number)
    assert serials[0] != serials[1]
    assert (lab.work / "account.key").stat().st_mode & 0o777 == 0o600
    assert lab.answers == {}  # every answer withdrawn


def test_a_failed_validation_names_the_name(lab: Lab) -> None:
    with pytest.raises(AcmeError) as caught:
        lab.issue(["x.a.test", "y.a.test"], skip="y.a.test")
    assert caught.value.failed_names == ["y.a.test"]
    assert "y.a.test" in str(caught.value)
    assert lab.answers == {}


def test_an_unreachable_directory_is_an_acme_error(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(AcmeError, match="cannot reach"):
        issue(f"https://127.0.0.1:{free_port()}/dir", ["x.a.test"],
              account_key_pem=load_or_create_account_key(tmp_path / "k"), email="",
              publish=lambda *a: None, withdraw=lambda *a: None)  # fmt: skip
