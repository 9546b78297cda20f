"""The HTTPS side of ``mailtool serve`` ([listen] https / http), driven with the stdlib's
http.client: MTA-STS (RFC 8461 §3.3), autoconfig, autodiscover, what the plain listener
refuses, and keep-alive."""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import MailtoolServer


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailtoolServer]:
    """One server for the module: these tests only read from it."""
    server = MailtoolServer(
        tmp_path_factory.mktemp("web"),
        services=("imaps", "submissions", "submission"),
        config={
            "listen": {"https": "127.0.0.1:0", "http": "127.0.0.1:0"},
            "mta_sts": {"mode": "enforce", "max_age": 86400},
        },
    ).start()
    server.cli("domain", "add", "a.test")
    yield server
    assert server.stop() == 0


def _get(
    server: MailtoolServer, host: str, path: str, *, secure: bool = True, **kw: Any
) -> http.client.HTTPResponse:
    port = server.port("https" if secure else "http")
    if secure:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the self-signed one
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=ctx, timeout=10
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(kw.pop("method", "GET"), path, headers={"Host": host}, **kw)
    response = conn.getresponse()
    response.read_body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def test_mta_sts_policy_for_a_hosted_domain(web: MailtoolServer) -> None:
    r = _get(web, "mta-sts.a.test", "/.well-known/mta-sts.txt")
    assert r.status == 200
    assert r.getheader("Content-Type") == "text/plain"
    assert r.read_body.decode() == (  # type: ignore[attr-defined]
        "version: STSv1\nmode: enforce\nmx: mail.test\nmax_age: 86400\n"
    )


def test_mta_sts_only_for_hosted_domains_and_only_over_https(web: MailtoolServer) -> None:
    assert _get(web, "mta-sts.other.test", "/.well-known/mta-sts.txt").status == 404
    assert _get(web, "a.test", "/.well-known/mta-sts.txt").status == 404
    plain = _get(web, "mta-sts.a.test", "/.well-known/mta-sts.txt", secure=False)
    assert plain.status == 404


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("autoconfig.a.test", "/mail/config-v1.1.xml?emailaddress=alice%40a.test"),
        ("a.test", "/.well-known/autoconfig/mail/config-v1.1.xml"),
    ],
)
def test_autoconfig_names_our_listeners(
    web: MailtoolServer, host: str, path: str, secure: bool
) -> None:
    r = _get(web, host, path, secure=secure)
    assert r.status == 200
    root = ET.fromstring(r.read_body)  # type: ignore[attr-defined]
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == "a.test"
    incoming = [(s.get("type"), s.findtext("port"), s.findtext("socketType"))
                for s in provider.findall("incomingServer")]  # fmt: skip
    assert incoming == [("imap", str(web.port("imaps")), "SSL")]
    outgoing = [(s.findtext("port"), s.findtext("socketType"))
                for s in provider.findall("outgoingServer")]  # fmt: skip
    assert outgoing == [(str(web.port("submissions")), "SSL"),
                        (str(web.port("submission")), "STARTTLS")]  # fmt: skip
    assert {s.findtext("hostname") for s in provider.iter() if s.find("hostname") is not None} == {
        "mail.test"
    }


def test_autoconfig_unknown_domain_is_404(web: MailtoolServer) -> None:
    assert _get(web, "autoconfig.other.test", "/mail/config-v1.1.xml").status == 404


AUTODISCOVER = (
    '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
    'exchange/autodiscover/outlook/requestschema/2006"><Request>'
    "<EMailAddress>alice@a.test</EMailAddress><AcceptableResponseSchema>"
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    "</AcceptableResponseSchema></Request></Autodiscover>"
)


def test_autodiscover_pox(web: MailtoolServer) -> None:
    r = _get(web, "autodiscover.a.test", "/autodiscover/autodiscover.xml", method="POST",
             body=AUTODISCOVER.encode())  # fmt: skip
    assert r.status == 200
    ns = {"o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    root = ET.fromstring(r.read_body)  # type: ignore[attr-defined]
    protocols = {
        p.findtext("o:Type", namespaces=ns): (
            p.findtext("o:Port", namespaces=ns),
            p.findtext("o:LoginName", namespaces=ns),
            p.findtext("o:Encryption", namespaces=ns),
        )
        for p in root.iterfind(".//o:Protocol", ns)
    }
    assert protocols == {
        "IMAP": (str(web.port("imaps")), "alice@a.test", "SSL"),
        "SMTP": (str(web.port("submissions")), "alice@a.test", "SSL"),
    }


def test_autodiscover_refuses_get_and_unknown_domains(web: MailtoolServer) -> None:
    r = _get(web, "autodiscover.a.test", "/autodiscover/autodiscover.xml")
    assert (r.status, r.getheader("Allow")) == (405, "POST")
    body = AUTODISCOVER.replace("a.test", "other.test").encode()
    r = _get(web, "autodiscover.a.test", "/autodiscover/autodiscover.xml", method="POST",
             body=body)  # fmt: skip
    assert r.status == 404


def test_unknown_path_and_acme_challenge_without_one(web: MailtoolServer) -> None:
    assert _get(web, "a.test", "/").status == 404
    assert _get(web, "a.test", "/.well-known/acme-challenge/abc", secure=False).status == 404


def test_keep_alive_serves_several_requests_on_one_connection(web: MailtoolServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", web.port("http"), timeout=10)
    for _ in range(3):
        conn.request("GET", "/mail/config-v1.1.xml", headers={"Host": "autoconfig.a.test"})
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    sock = conn.sock
    assert sock is not None  # still the first connection
    conn.close()
