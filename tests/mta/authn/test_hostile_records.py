"""Inputs the fuzz targets (tests/fuzz/fuzz_dkim.py, fuzz_authrecords.py) found to raise
instead of giving a result: each is a message or record an attacker controls."""

from __future__ import annotations

import asyncio

from mailtool.mta.authn import authresults
from mailtool.mta.authn.arc import verify_arc
from mailtool.mta.authn.dkim_verify import verify_dkim
from mailtool.mta.authn.dmarc import evaluate
from mailtool.policy.mtasts import parse_policy_file
from mailtool.policy.spf import SpfResult
from tests.mta.authn.test_vectors import RFC6376_KEY


class NoKeys:
    """A resolver with no TXT records anywhere."""

    async def txt(self, name: str) -> list[str]:
        return []


def test_dkim_signed_message_with_a_malformed_header_line_is_permerror() -> None:
    # a header line that is neither a field nor a continuation: dkimpy raises
    # MessageFormatError from its constructor, which escaped verify_dkim
    message = (
        b"DKIM-Signature: v=1; a=rsa-sha256; s=brisbane; d=example.com;\r\n"
        b"      c=simple/simple; h=from; bh=AAAA; b=AAAA\r\n"
        b"\xe0\xdf\x97\xc0Received by x;\r\n"
        b"From: Joe <joe@example.com>\r\n\r\nHi.\r\n"
    )
    results = asyncio.run(verify_dkim(NoKeys(), message))  # type: ignore[arg-type]
    assert [r.result for r in results] == ["permerror"]


def test_authentication_results_without_an_authserv_id_is_not_ours() -> None:
    # "Authentication-Results: ; spf=pass" raised IndexError on the port-25 DATA path
    message = (
        b"Authentication-Results: ; spf=pass\r\n"
        b"Authentication-Results: (only a comment)\r\n"
        b"Authentication-Results: mx.example.test; dkim=pass\r\n"
        b"From: a@example.test\r\n\r\nbody\r\n"
    )
    forged = authresults.forged_fields(message, "mx.example.test")
    assert [f.value for f in forged] == ["mx.example.test; dkim=pass"]


def test_numbers_in_records_are_ascii_digits() -> None:
    # str.isdigit() accepts "²", which int() refuses: a DMARC pct= or an MTA-STS
    # max_age of "²" raised ValueError (DMARC: on the port-25 DATA path)
    text = "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: \u00b2\n"
    policy = parse_policy_file(text)
    assert policy.max_age == 0 and any("max_age '\u00b2'" in p.message for p in policy.problems)

    class Dmarc:
        async def txt(self, name: str) -> list[str]:
            return ["v=DMARC1; p=reject; pct=\u00b2"] if name == "_dmarc.example.test" else []

    spf = SpfResult("fail", "example.test")
    result = asyncio.run(evaluate(Dmarc(), ["example.test"], spf, [], sample=0.5))  # type: ignore[arg-type]
    assert (result.result, result.policy) == ("fail", "reject")


def test_arc_seal_naming_a_domain_that_is_not_utf8_fails_the_chain() -> None:
    # dkimpy asks our dnsfunc for b"brisbane._domainkey.example\xff": it raised
    # UnicodeDecodeError out of verify_arc (found by tests/fuzz/fuzz_dkim.py)
    message = (
        b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example\xff\xff; s=brisbane; b=AAAA\r\n"
        b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;"
        b" s=brisbane; h=from; bh=AAAA; b=AAAA\r\n"
        b"ARC-Authentication-Results: i=1; example.com; spf=pass\r\n"
        b"From: a@example.com\r\n\r\nbody\r\n"
    )
    assert asyncio.run(verify_arc(NoKeys(), message)).result == "fail"  # type: ignore[arg-type]


def test_dkim_signature_whose_body_hash_is_not_base64_is_permerror() -> None:
    # dkimpy let binascii.Error (bad padding in bh=) out of DKIM.verify (found by fuzz_dkim)
    message = (
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=brisbane;\r\n"
        b" h=From; bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN.XKdLCPjaYaY=; b=AAAA\r\n"
        b"From: a@example.com\r\n\r\nhi\r\n"
    )

    class Key:
        async def txt(self, name: str) -> list[str]:
            return [RFC6376_KEY] if name == "brisbane._domainkey.example.com" else []

    results = asyncio.run(verify_dkim(Key(), message))  # type: ignore[arg-type]
    assert [(r.result, r.domain) for r in results] == [("permerror", "example.com")]
