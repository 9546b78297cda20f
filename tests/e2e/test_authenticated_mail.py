"""Acceptance (issue 10, point 4): mail that a.test's server signs and relays is verified at
b.test's server, end to end through DNS: `dkim=pass spf=pass dmarc=pass`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailtool.mta.authn.keys import load_keys
from tests.e2e.two_domains import (
    A_IP,
    BASE_RECORDS,
    alice_and_bob,
    imap_messages,
    submit,
)

pytestmark = pytest.mark.peer


def test_signed_mail_from_a_verifies_at_b(tmp_path, dns_server):
    # the key goes where a.test's server keeps its data (tests.e2e.two_domains: WORKDIR/a/data)
    data_a = tmp_path / "a" / "data"
    subprocess.run(
        [sys.executable, "-m", "mailtool", "--data-dir", str(data_a), "dkim", "keygen", "a.test",
         "--selector", "mt1", "--algorithm", "rsa"],
        check=True, capture_output=True,
    )
    (key,) = load_keys(data_a, "a.test")
    records = [
        *BASE_RECORDS,
        f'txt-record=a.test,"v=spf1 ip4:{A_IP} -all"',
        'txt-record=_dmarc.a.test,"v=DMARC1; p=reject"',
        f'txt-record=mt1._domainkey.a.test,"{key.txt_record()}"',
    ]
    with alice_and_bob(tmp_path, dns_server(records)) as (a, b):
        submit(a, "alice@a.test", "alice-pw", ["bob@b.test"], "signed lunch")
        (got,) = imap_messages(b, "bob@b.test", "bob-pw")
        results = got["Authentication-Results"]
        assert results.startswith("mx.b.test;"), results
        for verdict in ("dkim=pass", "spf=pass", "dmarc=pass"):
            assert verdict in results, results
        assert "d=a.test" in got["DKIM-Signature"] and "s=mt1" in got["DKIM-Signature"]
