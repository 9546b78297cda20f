"""TLS contexts and the embedded self-signed certificate.

Server contexts are TLS 1.2+ (DESIGN principle 3). A :class:`CertStore` keeps one
``SSLContext`` per process and reloads the certificate into that same object on
SIGHUP: ``SSLContext.load_cert_chain`` on a live context applies to every later
handshake, so listeners never need restarting.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from mailtool.errors import ConfigError

SELF_SIGNED_DAYS = 825  # the longest validity clients still accept for a leaf


def server_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server-side context with TLS 1.2 as the floor."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    _load(ctx, cert, key)
    return ctx


def client_context(*, verify: bool = True, cafile: str | None = None) -> ssl.SSLContext:
    """A client-side context; ``verify=False`` only for opportunistic TLS and probes."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _load(ctx: ssl.SSLContext, cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> None:
    try:
        ctx.load_cert_chain(os.fspath(cert), os.fspath(key))
    except FileNotFoundError as exc:
        raise ConfigError(f"cannot read {exc.filename}: no such file", key="tls") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load certificate {cert} with key {key}: {exc}", key="tls"
        ) from None


def fingerprint(cert_path: str | os.PathLike[str]) -> str:
    """SHA-256 fingerprint of the first certificate in a PEM file, as ``AB:CD:...``."""
    pem = Path(cert_path).read_text()
    der = ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate_self_signed(hostname: str, cert_path: Path, key_path: Path) -> None:
    """Write a self-signed ECDSA P-256 certificate for ``hostname`` (and localhost)."""
    # cryptography is imported here: only the first `serve` without a certificate needs it
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_path, key_pem)
    # public, but 0600 like every file in the data dir (DESIGN principle 7)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class CertStore:
    """The certificate in use, its fingerprint, and the one server SSLContext."""

    cert: Path
    key: Path
    generated: bool
    context: ssl.SSLContext
    #: of the certificate last loaded: kept, since serve may not read the file again once
    #: it has given up root
    loaded_fingerprint: str = ""

    @property
    def fingerprint(self) -> str:
        return self.loaded_fingerprint or fingerprint(self.cert)

    def reload(self) -> None:
        """Re-read cert and key into the live context (SIGHUP)."""
        _load(self.context, self.cert, self.key)
        self.loaded_fingerprint = fingerprint(self.cert)

    @classmethod
    def open(cls, cert: str, key: str, tls_dir: Path, hostname: str) -> CertStore:
        """Use the configured pair, or generate (once) a self-signed one in ``tls_dir``
        (the data dir's ``tls/``: :attr:`mailtool.store.paths.DataDir.tls`)."""
        generated = False
        if cert:
            cert_path, key_path = Path(cert), Path(key)
        else:
            tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            cert_path, key_path = tls_dir / "selfsigned.crt", tls_dir / "selfsigned.key"
            if not (cert_path.exists() and key_path.exists()):
                generate_self_signed(hostname, cert_path, key_path)
                generated = True
        context = server_context(cert_path, key_path)
        return cls(cert_path, key_path, generated, context, fingerprint(cert_path))
