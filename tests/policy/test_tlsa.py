"""mailtool.policy.tlsa: usable TLSA records for SMTP and matching (RFC 6698, RFC 7672)."""

from __future__ import annotations

import hashlib

import pytest

from mailtool.dns import TLSARecord
from mailtool.policy.tlsa import record_matches, record_problems

CERT, SPKI = b"certificate DER", b"spki DER"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (TLSARecord(3, 1, 1, hashlib.sha256(SPKI).digest()), []),
        (TLSARecord(2, 0, 2, hashlib.sha512(CERT).digest()), []),
        (TLSARecord(1, 1, 1, hashlib.sha256(SPKI).digest()), [("warning", "RFC 7672 §3.1.3")]),
        (TLSARecord(4, 1, 1, hashlib.sha256(SPKI).digest()), [("error", "RFC 6698 §2.1.1")]),
        (TLSARecord(3, 2, 1, hashlib.sha256(SPKI).digest()), [("error", "RFC 6698 §2.1.2")]),
        (TLSARecord(3, 1, 3, b"x"), [("error", "RFC 6698 §2.1.3")]),
        (TLSARecord(3, 1, 1, b"short"), [("error", "RFC 6698 §2.1.3")]),
    ],
)
def test_record_problems(record: TLSARecord, expected: list[tuple[str, str]]) -> None:
    assert [(p.severity, p.rfc) for p in record_problems(record)] == expected


def test_matching() -> None:
    assert record_matches(TLSARecord(3, 1, 1, hashlib.sha256(SPKI).digest()), CERT, SPKI)
    assert record_matches(TLSARecord(3, 0, 0, CERT), CERT, SPKI)
    assert record_matches(TLSARecord(3, 0, 2, hashlib.sha512(CERT).digest()), CERT, SPKI)
    assert not record_matches(TLSARecord(3, 1, 1, hashlib.sha256(CERT).digest()), CERT, SPKI)
    assert not record_matches(TLSARecord(3, 1, 9, SPKI), CERT, SPKI)
