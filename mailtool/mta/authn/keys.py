"""DKIM keys: made here, kept by a key store (:func:`key_store`): on disk
``DATA_DIR/dkim/DOMAIN/SELECTOR.key`` (private, mode 0600) and ``SELECTOR.pub`` (the TXT
record to publish at ``SELECTOR._domainkey.DOMAIN``), :class:`~mailtool.store.dkim_keys.
DkimKeyFiles`; on PostgreSQL a table every node shares (``Stores.dkim_keys``).

RSA keys are 2048 bits (RFC 8301 §3.2: at least 1024, 2048 recommended) in
PKCS#1 PEM, the format dkimpy, OpenDKIM and rspamd all read. Ed25519 keys
(RFC 8463) are PKCS#8 PEM; their TXT record carries the bare 32-byte public
key (RFC 8463 §4.2), not a SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mailtool.errors import AlreadyExists, MailtoolError
from mailtool.policy.dkim_key import txt_record
from mailtool.store.dkim_keys import DkimKeyFiles
from mailtool.store.paths import DataDir

Algorithm = Literal["rsa", "ed25519"]
ALGORITHMS: tuple[Algorithm, ...] = ("rsa", "ed25519")
RSA_BITS = 2048
#: a selector is a dot-atom of DNS labels (RFC 6376 §3.1); we keep it to one safe file name
_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]+$")


class KeyStore(Protocol):
    """Where keys are kept (:class:`DkimKeyFiles`, ``store.pg.dkim_keys.PgDkimKeys``)."""

    def add(self, domain: str, selector: str, private_pem: bytes, record: str) -> None: ...
    def private_keys(self, domain: str) -> list[tuple[str, bytes]]: ...
    def domains(self) -> list[str]: ...


#: a data dir (its key files) or a key store
Where = str | os.PathLike[str] | KeyStore


class DkimKeyError(MailtoolError):
    """A DKIM key cannot be made or read (bad selector or domain, unreadable file)."""


@dataclass(frozen=True)
class DkimKey:
    """One signing key: who it signs for and with what."""

    domain: str
    selector: str
    algorithm: Algorithm
    private_pem: bytes
    public: bytes  #: DER SubjectPublicKeyInfo (RSA) or the raw 32 bytes (Ed25519)

    @property
    def signature_algorithm(self) -> bytes:
        """The ``a=`` tag (RFC 6376 §3.5, RFC 8463 §3)."""
        return b"rsa-sha256" if self.algorithm == "rsa" else b"ed25519-sha256"

    @property
    def dkimpy_private(self) -> bytes:
        """The private key as dkimpy takes it: PEM for RSA, base64 seed for Ed25519."""
        if self.algorithm == "rsa":
            return self.private_pem
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(self.private_pem, password=None)
        raw = key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw)

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def txt_record(self) -> str:
        """The TXT value to publish (RFC 6376 §3.6.1)."""
        return txt_record(self.algorithm, self.public)


def key_dir(data_dir: str | os.PathLike[str]) -> Path:
    return DataDir(data_dir).dkim


def check_names(domain: str, selector: str) -> str:
    """The normalised domain; raises :class:`DkimKeyError` for names that are not DNS labels
    (they also become file names, so nothing may climb out of the key directory)."""
    domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise DkimKeyError(f"{domain!r} is not a domain name")
    if not _SELECTOR.match(selector):
        raise DkimKeyError(f"{selector!r} is not a valid selector (one DNS label)")
    return domain


def _public_of(private_pem: bytes) -> tuple[Algorithm, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key = serialization.load_pem_private_key(private_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "rsa", der
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "ed25519", raw
    raise DkimKeyError(f"unsupported key type {type(key).__name__}")


def key_store(where: Where) -> KeyStore:
    """Where keys are kept: a data dir's key files (``DATA_DIR/dkim``), or the store given
    (on PostgreSQL ``Stores.dkim_keys``, a table every node shares)."""
    if isinstance(where, str | os.PathLike):
        return DkimKeyFiles(key_dir(where))
    return where


def generate(
    where: Where,
    domain: str,
    selector: str,
    algorithm: Algorithm = "rsa",
    *,
    bits: int = RSA_BITS,
) -> DkimKey:
    """Make and store a new key; an existing selector is never overwritten."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    domain = check_names(domain, selector)
    if algorithm not in ALGORITHMS:
        raise DkimKeyError(f"algorithm {algorithm!r}: expected rsa or ed25519")
    store = key_store(where)
    if any(name == selector for name, _ in store.private_keys(domain)):  # before the work
        raise AlreadyExists(
            f"{selector}._domainkey.{domain} exists: pick another selector "
            "(keys are never replaced)"
        )
    if algorithm == "rsa":
        pem = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1, read by every signer
            serialization.NoEncryption(),
        )
    else:
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    key = key_of(pem, domain, selector)
    store.add(domain, selector, pem, key.txt_record())
    return key


def key_of(pem: bytes, domain: str, selector: str, source: str = "") -> DkimKey:
    """The signing key of a stored PEM private key (``source`` names it in errors)."""
    try:
        algorithm, public = _public_of(pem)
    except ValueError as exc:
        where = source or f"{selector}._domainkey.{domain}"
        raise DkimKeyError(f"{where}: not a PEM private key ({exc})") from None
    return DkimKey(domain, selector, algorithm, pem, public)


def load_key(path: Path, domain: str) -> DkimKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read {path}: {exc.strerror}") from None
    return key_of(pem, domain, path.stem, str(path))


def load_keys(where: Where, domain: str) -> list[DkimKey]:
    """Every key of ``domain``, RSA first (the signature most verifiers know), by selector."""
    domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        return []
    try:
        found = key_store(where).private_keys(domain)
    except OSError as exc:
        raise DkimKeyError(f"cannot read the keys of {domain}: {exc.strerror}") from None
    keys = [key_of(pem, domain, selector) for selector, pem in found]
    return sorted(keys, key=lambda k: (k.algorithm != "rsa", k.selector))


def all_domains(where: Where) -> list[str]:
    return key_store(where).domains()
