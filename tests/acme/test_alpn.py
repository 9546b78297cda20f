"""tls-alpn-01 (RFC 8737): the challenge certificate, and the SNI switch on the live context
(handshakes done in memory, client and server ``SSLObject`` back to back)."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

from cryptography import x509

from mailtool.acme.alpn import (
    ACME_IDENTIFIER_OID,
    ACME_TLS_ALPN,
    AlpnResponder,
    challenge_certificate,
)
from mailtool.net.tls import generate_self_signed, server_context


def test_challenge_certificate() -> None:
    cert_pem, _ = challenge_certificate("mail.a.test", "token.thumb")
    cert = x509.load_pem_x509_certificate(cert_pem)
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(ACME_IDENTIFIER_OID))
    assert ext.critical  # RFC 8737 §3
    assert ext.value.value == b"\x04\x20" + hashlib.sha256(b"token.thumb").digest()
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["mail.a.test"]


def _handshake(server_ctx: ssl.SSLContext, name: str, alpn: list[str] | None) -> ssl.SSLObject:
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname, client_ctx.verify_mode = False, ssl.CERT_NONE
    if alpn:
        client_ctx.set_alpn_protocols(alpn)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    return client


def test_sni_switch_only_for_pending_names(tmp_path: Path) -> None:
    generate_self_signed("mail.a.test", tmp_path / "c.pem", tmp_path / "k.pem")
    live = server_context(tmp_path / "c.pem", tmp_path / "k.pem")
    responder = AlpnResponder(live, tmp_path)
    responder.publish("mail.a.test", "tok", "tok.thumb")
    assert list(tmp_path.glob("alpn-*")) == []  # the key file is gone once loaded

    def served(name: str, alpn: list[str] | None) -> tuple[x509.Certificate, str | None]:
        client = _handshake(live, name, alpn)
        der = client.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der), client.selected_alpn_protocol()

    cert, chosen = served("mail.a.test", [ACME_TLS_ALPN])
    assert chosen == ACME_TLS_ALPN
    assert cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(ACME_IDENTIFIER_OID))
    normal, _ = served("other.a.test", None)
    assert normal.issuer == normal.subject and not any(
        e.oid.dotted_string == ACME_IDENTIFIER_OID for e in normal.extensions
    )
    responder.withdraw("mail.a.test", "tok")
    after, chosen = served("mail.a.test", None)
    assert (
        after.fingerprint(after.signature_hash_algorithm)
        == normal.fingerprint(normal.signature_hash_algorithm)
        and chosen is None
    )
