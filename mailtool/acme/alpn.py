"""The tls-alpn-01 challenge (RFC 8737) on our own HTTPS listener.

The CA connects to port 443 with SNI = the name being validated and ALPN offering only
``acme-tls/1`` (§3), and expects a self-signed certificate for that one name carrying
the critical ``id-pe-acmeIdentifier`` extension: the SHA-256 of the key authorization
(§3, §6.1). :class:`AlpnResponder` installs an SNI callback on the live server context:
while a name has a pending challenge, a handshake for that name is moved to a context
holding its challenge certificate and offering ``acme-tls/1``; other names, and every
name once the challenge is withdrawn, are untouched. The ``acme`` package no longer
ships this challenge type; :func:`register_challenge` adds it through the package's own
registry (``Challenge.register``), as it defines http-01.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from pathlib import Path
from typing import Any

#: RFC 8737 §6.2: the ALPN protocol id of the validation handshake
ACME_TLS_ALPN = "acme-tls/1"
#: RFC 8737 §6.1: id-pe-acmeIdentifier
ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31"
TYPE = "tls-alpn-01"


def register_challenge() -> type:
    """The tls-alpn-01 challenge class, registered with the ``acme`` package (once)."""
    from acme import challenges

    existing = challenges.Challenge.TYPES.get(TYPE)
    if existing is not None:
        return existing

    @challenges.ChallengeResponse.register
    class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
        typ = TYPE

    @challenges.Challenge.register
    class TLSALPN01(challenges.KeyAuthorizationChallenge):
        response_cls = TLSALPN01Response
        typ = TYPE

        def validation(self, account_key: Any, **unused: Any) -> str:
            return str(self.key_authorization(account_key))

    return TLSALPN01


def challenge_certificate(name: str, key_authorization: str) -> tuple[bytes, bytes]:
    """(cert PEM, key PEM): self-signed for ``name`` only, with the acmeIdentifier."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        # RFC 8737 §3: the extension value is the DER OCTET STRING of the digest
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier(ACME_IDENTIFIER_OID), b"\x04\x20" + digest
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class AlpnResponder:
    """Pending tls-alpn-01 challenges, answered on ``context`` (the live server context)."""

    def __init__(self, context: ssl.SSLContext, workdir: Path) -> None:
        self.workdir = workdir
        self.contexts: dict[str, ssl.SSLContext] = {}
        context.sni_callback = self._sni

    def publish(self, name: str, token: str, key_authorization: str) -> None:
        from mailtool.acme.client import write_private

        cert_pem, key_pem = challenge_certificate(name, key_authorization)
        path = self.workdir / f"alpn-{token}.pem"
        write_private(path, key_pem + cert_pem)  # load_cert_chain reads files only
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(path)
        finally:
            path.unlink(missing_ok=True)
        ctx.set_alpn_protocols([ACME_TLS_ALPN])
        self.contexts[name.lower()] = ctx

    def withdraw(self, name: str, token: str) -> None:
        self.contexts.pop(name.lower(), None)

    def _sni(self, sslobj: Any, servername: str | None, _context: ssl.SSLContext) -> None:
        challenge = self.contexts.get((servername or "").lower())
        if challenge is not None:
            sslobj.context = challenge
