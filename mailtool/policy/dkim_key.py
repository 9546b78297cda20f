"""DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2, RFC 8301): the TXT value we
publish for a key, and every tag of one found in DNS judged.

Tags: ``v=DKIM1`` (optional, first if present), ``h=`` hash algorithms
(``sha256``; ``sha1`` alone is unusable, RFC 8301 §3.1), ``k=`` key type
(``rsa`` default, ``ed25519``), ``n=`` notes, ``p=`` the base64 public key
(empty = revoked), ``s=`` service types (``*`` or ``email``), ``t=`` flags
(``y`` testing, ``s`` strict). RSA keys under 1024 bits must not be used
(RFC 8301 §3.2); 2048 is recommended.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from mailtool.protocol.authrecords import parse_tags

from .problems import Problem, error, warning

KEY_TYPES = ("rsa", "ed25519")
MIN_RSA_BITS = 1024  # RFC 8301 §3.2: MUST NOT use smaller
GOOD_RSA_BITS = 2048  # RFC 8301 §3.2: SHOULD be at least this
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
#: problem codes that make verifiers ignore the key (RFC 6376 §3.6.1, §6.1.2 step 6)
UNUSABLE = frozenset({"type", "service", "hash"})


def txt_record(algorithm: str, public: bytes) -> str:
    """The TXT value to publish for a key (RFC 6376 §3.6.1): ``public`` is the DER
    SubjectPublicKeyInfo (RSA) or the raw 32 bytes (Ed25519, RFC 8463 §4.2)."""
    return f"v=DKIM1; k={algorithm}; p={base64.b64encode(public).decode()}"


@dataclass(frozen=True)
class KeyRecord:
    tags: dict[str, str]
    key_type: str  #: the k= value, lower-case ("rsa" when absent)
    description: str  #: "RSA 2048 bits", "Ed25519", "revoked (empty p=)", ...
    problems: tuple[Problem, ...]

    @property
    def revoked(self) -> bool:
        return self.tags.get("p", "") == ""

    @property
    def testing(self) -> bool:
        return "y" in _flags(self.tags.get("t", ""))


def _flags(value: str) -> list[str]:
    return [f.strip().lower() for f in value.split(":") if f.strip()]


def parse_key_record(text: str) -> KeyRecord:
    """One key record and every problem with its tags (RFC 6376 §3.6.1)."""
    tags = parse_tags(text)
    rule = "RFC 6376 §3.6.1"
    out: list[Problem] = []
    if "v" in tags and (tags["v"] != "DKIM1" or not text.lstrip().startswith("v")):
        out.append(error("v= must be DKIM1 and the first tag", rule, "version"))
    k = tags.get("k", "rsa").lower()
    if k not in KEY_TYPES:
        out.append(error(f"k={tags['k']}: the key type must be rsa or ed25519", rule, "type"))
    hashes = _flags(tags.get("h", ""))
    if hashes and "sha256" not in hashes:
        out.append(
            error(
                f"h={tags['h']}: sha256 must be allowed (sha1 is not verified)",
                "RFC 8301 §3.1",
                "hash",
            )
        )
    services = _flags(tags.get("s", "*"))
    if not {"*", "email"} & set(services):
        out.append(error(f"s={tags['s']}: the key is not for email", rule, "service"))
    if "y" in _flags(tags.get("t", "")):
        out.append(
            warning("t=y: testing mode, verifiers may treat signed mail as unsigned", rule, "test")
        )
    if "p" not in tags:
        out.append(error("no p= tag (required)", rule, "key"))
        return KeyRecord(tags, k, "no key", tuple(out))
    description, key_problem = describe_key(tags["p"], k)
    if key_problem is not None:
        out.append(key_problem)
    return KeyRecord(tags, k, description, tuple(out))


def describe_key(p: str, k: str) -> tuple[str, Problem | None]:
    """The key's description and its problem (RFC 6376 §3.6.1 p=, RFC 8301 §3.2)."""
    rule = "RFC 6376 §3.6.1"
    p = re.sub(r"\s", "", p)
    if not p:
        return "revoked (empty p=)", None
    if not _BASE64.match(p):
        return "p= is not valid base64", error("p= is not valid base64", rule, "key")
    try:
        der = base64.b64decode(p, validate=True)
    except (binascii.Error, ValueError):
        return "p= is not valid base64", error("p= is not valid base64", rule, "key")
    if k == "ed25519":
        if len(der) == 32:  # RFC 8463 §4.2: the bare 32-byte key
            return "Ed25519", None
        return "bad Ed25519 key", error(
            f"an Ed25519 key is 32 bytes, not {len(der)}", "RFC 8463 §4.2", "key"
        )
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):  # an unknown key type's OID: not a key we use
        return "p= is not a public key", error("p= is not a public key", rule, "key")
    if not isinstance(key, rsa.RSAPublicKey):
        text = f"k={k} but the key is {type(key).__name__}"
        return text, error(text, rule, "key")
    bits = key.key_size
    description = f"RSA {bits} bits"
    if bits < MIN_RSA_BITS:
        return description, error(
            f"RSA {bits} bits: under {MIN_RSA_BITS} must not be used", "RFC 8301 §3.2", "size"
        )
    if bits < GOOD_RSA_BITS:
        return description, warning(
            f"RSA {bits} bits: {GOOD_RSA_BITS} is recommended", "RFC 8301 §3.2", "size"
        )
    return description, None
