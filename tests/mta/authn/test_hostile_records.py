"""Inputs the fuzz targets (tests/fuzz/fuzz_dkim.py, fuzz_authrecords.py) found to raise
instead of giving a result: each is a message or record an attacker controls."""

from __future__ import annotations

import asyncio

from mailtool.mta.authn.dkim_verify import verify_dkim


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
