"""A small mail Internet on loopback for diagnose tests, built once per module.

- dnsmasq serving good.test (sound), bad.test (broken everywhere), partly.test
  (MTA-STS enforce with an MX whose certificate has another name), null.test,
  servfail.test, and the DNSBL zones bl.test (working) and dead.test (broken);
- Postfix at 127.0.0.10 (good: STARTTLS with a trustme certificate for
  mx.good.test, relay refused) and at 127.0.0.11 (bad: no TLS, open relay, no
  postmaster), both on the same port so that one --port-map 25=N reaches both;
- an HTTPS server at 127.0.0.12 serving the MTA-STS policies;
- Dovecot (IMAP, POP3, no TLS) on 127.0.0.1, advertised by clients.test's SRV.

Every address in these zones is 127.0.0.x: diagnose never leaves loopback.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from tests.peers import free_port
from tests.peers.dnsmasq import DnsServer
from tests.peers.dovecot import Dovecot
from tests.peers.https import HTTPSServer
from tests.peers.postfix import Postfix

GOOD_IP, BAD_IP, HTTPS_IP = "127.0.0.10", "127.0.0.11", "127.0.0.12"
POLICY_PATH = "/.well-known/mta-sts.txt"


def dkim_key(bits: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def txt(name: str, text: str) -> str:
    """dnsmasq txt-record; long texts split into 255-octet strings (RFC 7208 §3.3)."""
    chunks = [text[i : i + 250] for i in range(0, len(text), 250)]
    return f"txt-record={name}," + ",".join(f'"{c}"' for c in chunks)


def tlsa_rr(name: str, usage: int, selector: int, mtype: int, data: bytes) -> str:
    raw = bytes([usage, selector, mtype]) + data
    return f"dns-rr={name},52," + ":".join(f"{b:02x}" for b in raw)


def zone(spki_sha256: bytes, imap_port: int, pop3_port: int) -> list[str]:
    many = " ".join(["a"] * 8)
    return [
        # ---- good.test: everything right
        "mx-host=good.test,mx.good.test,10",
        f"host-record=mx.good.test,{GOOD_IP}",
        f"ptr-record={GOOD_IP.split('.')[3]}.0.0.127.in-addr.arpa,mx.good.test",
        txt("good.test", "v=spf1 mx include:_spf.good.test -all"),
        txt("_spf.good.test", f"v=spf1 ip4:{GOOD_IP} -all"),
        txt("_dmarc.good.test", "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"),
        txt("sel._domainkey.good.test", f"v=DKIM1; k=rsa; p={dkim_key(2048)}"),
        txt("_mta-sts.good.test", "v=STSv1; id=20240101"),
        f"host-record=mta-sts.good.test,{HTTPS_IP}",
        txt("_smtp._tls.good.test", "v=TLSRPTv1; rua=mailto:tls@good.test"),
        tlsa_rr("_25._tcp.mx.good.test", 3, 1, 1, spki_sha256),
        "srv-host=_submission._tcp.good.test,mx.good.test,587,0,1",
        # ---- bad.test: something wrong in every family
        f"mx-host=bad.test,{BAD_IP},10",  # an IP literal as MX target
        "mx-host=bad.test,alias.bad.test,20",  # a CNAME as MX target
        "cname=alias.bad.test,mx.bad.test",
        f"host-record=mx.bad.test,{BAD_IP}",
        txt(
            "bad.test",
            "v=spf1 include:loop.bad.test include:missing.bad.test "
            "include:many.bad.test a:v1.bad.test a:v2.bad.test a:v3.bad.test foo:bar +all",
        ),
        txt("loop.bad.test", "v=spf1 include:bad.test -all"),
        txt("many.bad.test", f"v=spf1 {many} -all"),
        txt("_dmarc.bad.test", "v=DMARC1; p=none"),
        txt("sel._domainkey.bad.test", f"v=DKIM1; k=rsa; p={dkim_key(1024)}"),
        txt("_mta-sts.bad.test", "v=STSv1; id=1"),
        f"host-record=mta-sts.bad.test,{HTTPS_IP}",
        # ---- partly.test: MTA-STS enforce, MX certificate for another name
        "mx-host=partly.test,mx.partly.test,10",
        f"host-record=mx.partly.test,{GOOD_IP}",
        txt("partly.test", "v=spf1 mx -all"),
        txt("_mta-sts.partly.test", "v=STSv1; id=7"),
        f"host-record=mta-sts.partly.test,{HTTPS_IP}",
        tlsa_rr("_25._tcp.mx.partly.test", 3, 1, 1, b"\x00" * 32),
        # ---- noptr.test: one MX without PTR, one whose PTR does not resolve back
        "mx-host=noptr.test,mx1.noptr.test,10",
        "mx-host=noptr.test,mx2.noptr.test,20",
        "address=/mx1.noptr.test/127.0.0.13",
        "address=/mx2.noptr.test/127.0.0.14",
        "ptr-record=14.0.0.127.in-addr.arpa,elsewhere.test",
        # ---- clients.test: IMAP and POP3 (Dovecot, no TLS) advertised by SRV
        "host-record=imap.clients.test,127.0.0.1",
        f"srv-host=_imap._tcp.clients.test,imap.clients.test,{imap_port},0,1",
        f"srv-host=_pop3._tcp.clients.test,imap.clients.test,{pop3_port},0,1",
        "srv-host=_imaps._tcp.clients.test,.,0,0,0",
        # ---- others
        "dns-rr=null.test,15,00:00:00",
        "server=/servfail.test/127.0.0.1#9",
        "host-record=2.0.0.127.bl.test,127.0.0.2",
        f"host-record={BAD_IP.split('.')[3]}.0.0.127.bl.test,127.0.0.2",
        "host-record=1.0.0.127.dead.test,127.0.0.2",
    ]


@dataclass
class Lab:
    dns: DnsServer
    good: Postfix
    bad: Postfix
    https: HTTPSServer
    cafile: str
    closed_port: int
    dovecot: Dovecot

    def args(self, domain: str, *extra: str) -> list[str]:
        """``mailtool diagnose`` arguments that reach this lab only."""
        pm = [f"25={self.good.port}", f"587={self.good.port}", f"443={self.https.port}"]
        pm += [f"{p}={self.closed_port}" for p in (465, 993, 143, 995, 110)]
        return [
            "diagnose",
            domain,
            "--nameserver",
            self.dns.address,
            "--port-map",
            ",".join(pm),
            "--cafile",
            self.cafile,
            "--dnsbl",
            "bl.test",
            "--allow-private",
            "--greeting-timeout",
            "20",
            "--timeout",
            "3",
            *extra,
        ]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: Any, certificate_authority: Any) -> Any:
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca = certificate_authority
    tmp = tmp_path_factory.mktemp("lab")
    cafile = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    mx_cert = ca.issue_cert("mx.good.test")
    leaf = x509.load_pem_x509_certificate(mx_cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    port = free_port(GOOD_IP)
    good = Postfix(
        host=GOOD_IP,
        hostname="mx.good.test",
        domains=["good.test", "partly.test"],
        tls=mx_cert,
        port=port,
    )
    bad = Postfix(
        host=BAD_IP,
        hostname="wrong.name.test",
        domains=["other.test"],
        port=port,
        options={"mynetworks": "127.0.0.0/8"},
    )
    policy = b"version: STSv1\nmode: enforce\nmx: %s\nmax_age: 86400\n"
    https = HTTPSServer(
        HTTPS_IP,
        ca.issue_cert("mta-sts.good.test", "mta-sts.partly.test"),
        {
            ("mta-sts.good.test", POLICY_PATH): (200, "text/plain", policy % b"mx.good.test"),
            ("mta-sts.partly.test", POLICY_PATH): (200, "text/plain", policy % b"mx.partly.test"),
            ("mta-sts.bad.test", POLICY_PATH): (200, "text/html", b"<html>"),
        },
    )
    dovecot = Dovecot(tmp / "dovecot", users={"alice": "pw"})
    started: list[Any] = []
    try:
        dovecot.start()
        started.append(dovecot)
        dns = DnsServer(
            tmp / "dns",
            zone(hashlib.sha256(spki).digest(), dovecot.imap_port, dovecot.pop3_port),
        )
        for server in (dns, good, bad, https):
            server.start()
            started.append(server)
        yield Lab(dns, good, bad, https, str(cafile), free_port(), dovecot)
    finally:
        for server in reversed(started):
            server.stop()
