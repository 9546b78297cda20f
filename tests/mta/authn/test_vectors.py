"""The RFCs' own examples, verified with their keys served by dnsmasq.

* RFC 6376 Appendix A.2 (rsa-sha256, simple/simple), key from Appendix C, with
  errata 3192 (the body has one space after "game.") applied;
* RFC 8463 Appendix A (one ed25519-sha256 and one rsa-sha256 signature,
  relaxed/relaxed), keys from §A.2.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailtool.dns import Resolver
from mailtool.mta.authn.dkim_verify import verify_dkim
from tests.mta.authn.conftest import txt

DATA = Path(__file__).parents[2] / "data" / "dkim"

RFC6376_KEY = (
    "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
    "IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi"
    "tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
)
RFC8463_ED25519 = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8463_RSA = (
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9"
    "PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)


def resolver(dns_server) -> Resolver:
    server = dns_server(
        [
            txt("brisbane._domainkey.example.com", RFC6376_KEY),
            txt("brisbane._domainkey.football.example.com", RFC8463_ED25519),
            txt("test._domainkey.football.example.com", RFC8463_RSA),
        ]
    )
    return Resolver([server.address], timeout=3)


def test_rfc6376_appendix_a(dns_server) -> None:
    message = (DATA / "rfc6376-a2.eml").read_bytes()
    results = asyncio.run(verify_dkim(resolver(dns_server), message))
    assert [(r.result, r.domain, r.selector, r.algorithm) for r in results] == [
        ("pass", "example.com", "brisbane", "rsa-sha256")
    ]
    tampered = message.replace(b"Is dinner ready?", b"Is dinner late?")
    assert asyncio.run(verify_dkim(resolver(dns_server), tampered))[0].result == "fail"


def test_rfc8463_appendix_a(dns_server) -> None:
    message = (DATA / "rfc8463-a.eml").read_bytes()
    results = asyncio.run(verify_dkim(resolver(dns_server), message))
    assert [(r.result, r.selector, r.algorithm) for r in results] == [
        ("pass", "brisbane", "ed25519-sha256"),
        ("pass", "test", "rsa-sha256"),
    ]


def test_missing_key_is_permerror_and_dns_failure_temperror(dns_server) -> None:
    message = (DATA / "rfc8463-a.eml").read_bytes()
    # example.com answered locally (NXDOMAIN), not refused as an unknown zone
    empty = Resolver([dns_server(["local=/example.com/"]).address], timeout=3)
    assert {r.result for r in asyncio.run(verify_dkim(empty, message))} == {"permerror"}
    # nothing listens there: every lookup times out -> temperror, never fail
    dead = Resolver(["127.0.0.1:9"], timeout=0.5)
    assert {r.result for r in asyncio.run(verify_dkim(dead, message))} == {"temperror"}
