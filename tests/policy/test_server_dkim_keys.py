"""The server's DKIM verification judges a key record as diagnose does
(mailtool.policy.dkim_key): a key for another service, of another type, or whose
h= excludes sha256 is ignored (RFC 6376 §3.6.1, §6.1.2), so the signature is a
permerror, not a pass."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from mailtool.mta.authn import keys
from mailtool.mta.authn.dkim_sign import DkimSigner
from mailtool.mta.authn.dkim_verify import verify_dkim
from tests.mta.authn.conftest import txt
from tests.policy.conftest import serving

MESSAGE = b"From: a@k.test\r\nTo: b@b.test\r\nSubject: hi\r\nMessage-ID: <1@k.test>\r\n\r\nhi\r\n"


@pytest.mark.parametrize(
    ("extra", "result"),
    [
        ("", "pass"),
        ("t=y; ", "pass"),  # testing: a warning for diagnose, no change for the verifier
        ("s=tlsrpt; ", "permerror"),
        ("h=sha1; ", "permerror"),
        ("k=rsa; ", "permerror"),  # an Ed25519 key declared as RSA
    ],
)
def test_unusable_key_records_are_permerror(tmp_path: Path, extra: str, result: str) -> None:
    key = keys.generate(tmp_path / "data", "k.test", "sel", "ed25519")
    value = f"v=DKIM1; {extra}" + ("" if "k=" in extra else "k=ed25519; ")
    value += f"p={base64.b64encode(key.public).decode()}"
    signed = asyncio.run(DkimSigner(tmp_path / "data").sign(MESSAGE))
    with serving(tmp_path / "dns", [txt("sel._domainkey.k.test", value)]) as resolver:
        (got,) = asyncio.run(verify_dkim(resolver, signed))
    assert got.result == result, got.reason
    if result == "permerror":
        assert got.reason.startswith("unusable key at sel._domainkey.k.test")
