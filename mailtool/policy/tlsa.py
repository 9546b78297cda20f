"""TLSA records for SMTP (RFC 6698, RFC 7672): which are usable, and whether one
matches a certificate.

RFC 7672 §3.1.3: SMTP senders use DANE-TA(2) and DANE-EE(3) records only;
PKIX-TA(0) and PKIX-EE(1) records are "unusable". Selector 0 = the whole
certificate, 1 = its SubjectPublicKeyInfo; matching type 0 = exact, 1 =
SHA-256, 2 = SHA-512 (RFC 6698 §2.1).
"""

from __future__ import annotations

import hashlib

from mailtool.dns import TLSARecord

from .problems import Problem, error, warning

DIGEST_SIZES = {1: 32, 2: 64}


def record_problems(record: TLSARecord) -> list[Problem]:
    """What makes one TLSA record unusable for SMTP (RFC 7672 §3.1.3, RFC 6698 §2.1)."""
    out = []
    if record.usage in (0, 1):
        out.append(
            warning(f"usage {record.usage} (PKIX) is unusable for SMTP", "RFC 7672 §3.1.3", "usage")
        )
    elif record.usage not in (2, 3):
        out.append(error(f"usage {record.usage} is not defined", "RFC 6698 §2.1.1", "usage"))
    if record.selector not in (0, 1):
        out.append(error(f"selector {record.selector} is not 0 or 1", "RFC 6698 §2.1.2"))
    if record.mtype not in (0, 1, 2):
        out.append(error(f"matching type {record.mtype} is not 0, 1 or 2", "RFC 6698 §2.1.3"))
    elif record.mtype in DIGEST_SIZES and len(record.data) != DIGEST_SIZES[record.mtype]:
        size = DIGEST_SIZES[record.mtype]
        out.append(
            error(f"{len(record.data)} bytes of data for a {size}-byte digest", "RFC 6698 §2.1.3")
        )
    return out


def record_matches(record: TLSARecord, cert_der: bytes, spki: bytes) -> bool:
    """RFC 6698 §2.1: does ``record`` match the certificate (DER) / its SPKI (DER)?"""
    data = cert_der if record.selector == 0 else spki
    digest = {
        0: lambda b: b,
        1: lambda b: hashlib.sha256(b).digest(),
        2: lambda b: hashlib.sha512(b).digest(),
    }.get(record.mtype)
    return digest is not None and digest(data) == record.data
