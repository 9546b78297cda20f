"""What a probe learns from a TLS handshake: version, cipher, the server's
certificate (names, validity, key, issuer) and whether its chain verified.

Certificate names are matched the RFC 6125 way (§6.4.3: a ``*`` only as the
whole left-most label), which is also what MTA-STS (RFC 8461 §4.1) and
DANE-EE (RFC 7672 §3.2.3) expect of a mail server's certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3: ``*.example.com`` matches ``mx.example.com`` only."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:]
    return False


@dataclass(frozen=True)
class CertInfo:
    """The leaf certificate, reduced to what a person checks."""

    subject: str
    issuer: str
    names: tuple[str, ...]  # DNS subjectAltNames (the CN only when there is no SAN)
    not_before: dt.datetime
    not_after: dt.datetime
    key: str  # "RSA 2048", "EC secp256r1", ...
    sha256: str  # of the whole certificate (DER), hex
    spki_sha256: str  # of the SubjectPublicKeyInfo, hex (DANE 3 1 1)
    der: bytes = field(repr=False, default=b"")

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def days_left(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.UTC)
        return (self.not_after - now).total_seconds() / 86400

    def matches(self, host: str) -> bool:
        return any(name_matches(n, host) for n in self.names)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "names": list(self.names),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key": self.key,
            "sha256": self.sha256,
            "spki_sha256": self.spki_sha256,
        }


def cert_info(der: bytes) -> CertInfo:
    """Parse a DER certificate (cryptography is imported only when a probe runs TLS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        names = tuple(str(a.value) for a in cns)
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key = f"RSA {public.key_size}"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key = f"EC {public.curve.name}"
    else:
        key = type(public).__name__.removeprefix("_").replace("PublicKey", "")
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=names,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key,
        sha256=hashlib.sha256(der).hexdigest(),
        spki_sha256=hashlib.sha256(spki).hexdigest(),
        der=der,
    )


@dataclass(frozen=True)
class TLSInfo:
    """The outcome of one handshake. ``verified`` is False with ``verify_error``
    set when the chain did not verify against the trust store (the probe then
    reconnected without verification to see the rest)."""

    version: str
    cipher: str
    bits: int
    cert: CertInfo | None
    verified: bool
    verify_error: str | None = None
    server_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "bits": self.bits,
            "verified": self.verified,
            "verify_error": self.verify_error,
            "server_name": self.server_name,
            "cert": self.cert.to_json() if self.cert else None,
        }


def tls_info(
    sslobj: ssl.SSLObject | ssl.SSLSocket,
    *,
    verified: bool,
    verify_error: str | None,
    server_name: str | None,
) -> TLSInfo:
    name, _, bits = sslobj.cipher() or ("", "", 0)
    der = sslobj.getpeercert(binary_form=True)
    return TLSInfo(
        version=sslobj.version() or "",
        cipher=name,
        bits=int(bits or 0),
        cert=cert_info(der) if der else None,
        verified=verified,
        verify_error=verify_error,
        server_name=server_name,
    )


def probe_context(*, verify: bool, cafile: str | None = None) -> ssl.SSLContext:
    """Client context for a probe: chain verification on or off; the *name* is
    always checked by us (:meth:`CertInfo.matches`) so that a wrong name and a
    bad chain are reported separately. TLS 1.0+ is allowed so that an old
    server's version can be *reported* rather than just failing."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
