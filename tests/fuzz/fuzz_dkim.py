"""atheris target: DKIM (RFC 6376) and ARC (RFC 8617) verification of a hostile message.

The input is the message. Keys: the RFC 6376 and RFC 8463 example keys at their
names, and for any other name a signature asks for, one of those keys, no key or
a temporary DNS failure (chosen by a CRC of the name). Verification runs through
dkimpy, so dkimpy is instrumented too: anything but a result (an exception that
is not DKIMException) would fail the SMTP DATA path on port 25.
"""

from __future__ import annotations

import zlib

from mailtool.mta.authn import headers
from mailtool.mta.authn.arc import _arc
from mailtool.mta.authn.dkim_verify import KeyTable, _verify_all
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz

KEYS = corpus.DKIM_KEYS
RESULTS = {"pass", "fail", "neutral", "temperror", "permerror"}


def _table(message: bytes) -> KeyTable:
    table = KeyTable()
    choices = [*KEYS.values(), None, "failed"]
    for name in headers.signature_keys(
        message, ("dkim-signature", "arc-seal", "arc-message-signature")
    ):
        key = KEYS.get(name, choices[zlib.crc32(name.encode()) % len(choices)])
        if key == "failed":
            table.failed.add(name)
        else:
            table.records[name] = key.encode() if key else None
    return table


def test_one_input(data: bytes) -> None:
    table = _table(data)
    for result in _verify_all(data, table):
        assert result.result in RESULTS, result
    if headers.values(data, "arc-seal"):
        assert _arc(data, table).result in ("none", "pass", "fail")


def seeds() -> list[bytes]:
    return [
        *corpus.data_files("dkim", "*.eml"),
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=brisbane;\r\n"
        b" h=From:To; bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=AAAA\r\n"
        b"From: a@example.com\r\nTo: b@example.net\r\n\r\nhi\r\n",
        b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.com; s=brisbane; b=AAAA\r\n"
        b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;"
        b" s=brisbane; h=from; bh=AAAA; b=AAAA\r\n"
        b"ARC-Authentication-Results: i=1; example.com; spf=pass\r\n"
        b"From: a@example.com\r\n\r\nbody\r\n",
        b"DKIM-Signature: v=1; a=ed25519-sha256; d=football.example.com; s=brisbane;"
        b" l=3; t=1; x=2; q=dns/txt; z=From:a|To:b; i=@football.example.com; h=from:from;"
        b" bh=; b=\r\n"
        b"From: x\r\n\r\n",
    ]


def main() -> None:
    fuzz(test_one_input, seeds(), packages=("mailtool", "dkim"))


if __name__ == "__main__":
    main()
