"""mailtool.policy.dkim_key: every tag of a DKIM key record (RFC 6376 §3.6.1)."""

from __future__ import annotations

import base64

import pytest

from mailtool.policy.dkim_key import parse_key_record, txt_record


def rsa_p(bits: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def p2048() -> str:
    return rsa_p(2048)


def test_our_own_records_are_clean(p2048: str) -> None:
    record = parse_key_record(f"v=DKIM1; k=rsa; p={p2048}")
    assert (record.description, record.problems) == ("RSA 2048 bits", ())
    ed = parse_key_record(txt_record("ed25519", b"\x01" * 32))
    assert (ed.description, ed.problems) == ("Ed25519", ())


@pytest.mark.parametrize(
    ("tags", "code", "severity"),
    [
        ("k=dsa", "type", "error"),
        ("h=sha1", "hash", "error"),  # RFC 8301 §3.1
        ("s=tlsrpt", "service", "error"),
        ("t=y", "test", "warning"),
        ("v=DKIM2", "version", "error"),
    ],
)
def test_tag_problems(p2048: str, tags: str, code: str, severity: str) -> None:
    text = f"{tags}; p={p2048}" if tags.startswith("v=") else f"v=DKIM1; {tags}; p={p2048}"
    problems = parse_key_record(text).problems
    assert [(p.code, p.severity) for p in problems] == [(code, severity)]


def test_key_problems() -> None:
    assert [p.code for p in parse_key_record("v=DKIM1; p=%%%").problems] == ["key"]
    assert [p.code for p in parse_key_record("v=DKIM1; k=ed25519; p=AAAA").problems] == ["key"]
    small = parse_key_record(f"v=DKIM1; p={rsa_p(1024)}").problems
    assert [(p.code, p.severity, p.rfc) for p in small] == [("size", "warning", "RFC 8301 §3.2")]
    revoked = parse_key_record("v=DKIM1; p=")
    assert revoked.revoked and revoked.problems == ()
    assert parse_key_record("v=DKIM1; t=s:y; p=").testing
