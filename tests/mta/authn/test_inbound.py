"""check_inbound with real DNS (dnsmasq): signed mail from a.test passes SPF, DKIM
(RSA and Ed25519) and DMARC; forged From is refused under p=reject, junked under
p=quarantine, accepted when allow-listed; forged Authentication-Results go."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailtool.config import AuthConfig
from mailtool.mta.authn.dkim_sign import DkimSigner
from mailtool.mta.authn.inbound import check_inbound
from tests.mta.authn.conftest import txt

MESSAGE = (
    b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: lunch\r\n"
    b"Date: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@a.test>\r\n\r\n"
    b"Shall we?\r\n"
)


def check(resolver, message, *, ip="127.0.0.2", mail_from="alice@a.test", helo="mx.a.test",
          config=None):
    return asyncio.run(
        check_inbound(
            message, peer_ip=ip, helo=helo, mail_from=mail_from, resolver=resolver,
            hostname="mx.b.test", config=config or AuthConfig(),
        )
    )


def test_signed_mail_from_a_test_passes_everything(auth_dns, key_dir: Path) -> None:
    resolver = auth_dns()
    signed = asyncio.run(DkimSigner(key_dir).sign(MESSAGE))
    assert signed.count(b"DKIM-Signature:") == 2
    verdict = check(resolver, signed)
    header = verdict.header_to_prepend.decode()
    assert header.startswith("Authentication-Results: mx.b.test;")
    assert "spf=pass smtp.mailfrom=alice@a.test" in header
    assert "dkim=pass header.d=a.test header.s=mailtool header.a=rsa-sha256" in header
    assert "header.s=mailtool-ed25519 header.a=ed25519-sha256" in header
    assert header.count("dkim=pass") == 2
    assert "dmarc=pass header.from=a.test" in header
    assert "arc=none" in header
    assert verdict.reject is None and not verdict.junk
    out = verdict.apply(signed)
    assert out.startswith(verdict.header_to_prepend) and out.endswith(signed)


def test_dkim_alone_passes_dmarc_when_spf_fails(auth_dns, key_dir: Path) -> None:
    # a forwarder: SPF fails at the new IP, the aligned DKIM signature carries DMARC
    resolver = auth_dns()
    signed = asyncio.run(DkimSigner(key_dir).sign(MESSAGE))
    verdict = check(resolver, signed, ip="127.0.0.50")
    header = verdict.header_to_prepend.decode()
    assert "spf=fail" in header and "dmarc=pass" in header
    assert verdict.reject is None


def test_tampered_body_fails_dkim_and_dmarc_reject(auth_dns, key_dir: Path) -> None:
    resolver = auth_dns()
    signed = asyncio.run(DkimSigner(key_dir).sign(MESSAGE))
    verdict = check(resolver, signed.replace(b"Shall we?", b"Send money"), ip="127.0.0.50")
    assert "dkim=fail" in verdict.header_to_prepend.decode()
    assert verdict.reject is not None
    assert (verdict.reject.code, verdict.reject.enhanced) == (550, "5.7.1")


def test_forged_from_is_refused(auth_dns) -> None:
    # evil.test's own SPF passes, but nothing aligns with the From domain a.test
    resolver = auth_dns()
    verdict = check(resolver, MESSAGE, ip="127.0.0.9", mail_from="x@evil.test")
    header = verdict.header_to_prepend.decode()
    assert "spf=pass smtp.mailfrom=x@evil.test" in header
    assert "dkim=none" in header
    assert "dmarc=fail" in header and "policy.dmarc=reject" in header
    assert verdict.reject is not None
    assert verdict.reject.format().startswith(b"550 5.7.1 ")


def test_allow_list_accepts_a_dmarc_failure(auth_dns) -> None:
    resolver = auth_dns()
    cfg = AuthConfig(dmarc_allow=("a.test",))
    verdict = check(resolver, MESSAGE, ip="127.0.0.9", mail_from="x@evil.test", config=cfg)
    assert verdict.reject is None and not verdict.junk
    assert "dmarc=fail" in verdict.header_to_prepend.decode()


def test_quarantine_marks_junk(auth_dns) -> None:
    resolver = auth_dns()
    message = MESSAGE.replace(b"alice@a.test", b"carol@q.test")
    verdict = check(resolver, message, ip="127.0.0.9", mail_from="x@evil.test")
    assert verdict.reject is None and verdict.junk
    assert b"X-Mailtool-Junk: yes" in verdict.header_to_prepend
    assert "policy.dmarc=quarantine" in verdict.header_to_prepend.decode()


def test_forged_authentication_results_are_removed(auth_dns) -> None:
    resolver = auth_dns()
    forged = (
        b"Authentication-Results: MX.B.TEST (trust me);\r\n\tdkim=pass; dmarc=pass\r\n"
        b"Authentication-Results: other.test; spf=pass smtp.mailfrom=a.test\r\n"
        b"X-Mailtool-Junk: no\r\n"
    )
    verdict = check(resolver, forged + MESSAGE)
    out = verdict.apply(forged + MESSAGE)
    assert b"trust me" not in out and b"X-Mailtool-Junk: no" not in out
    assert b"Authentication-Results: other.test; spf=pass" in out
    assert out.count(b"Authentication-Results: mx.b.test;") == 1


def test_helo_identity_and_null_sender(auth_dns) -> None:
    resolver = auth_dns(txt("mx.a.test", "v=spf1 a -all"))
    verdict = check(resolver, MESSAGE, mail_from="")
    header = verdict.header_to_prepend.decode()
    # RFC 7208 §2.4: a bounce is checked as postmaster@HELO
    assert "spf=pass smtp.mailfrom=postmaster@mx.a.test" in header


def test_checker_from_config_and_switches(auth_dns, key_dir: Path) -> None:
    from mailtool.config import Config, DkimConfig
    from mailtool.mta.authn.dkim_sign import signer_from_config
    from mailtool.mta.authn.inbound import InboundChecker

    resolver = auth_dns()
    cfg = Config(data_dir=str(key_dir), hostname="mx.b.test")
    signed = asyncio.run(signer_from_config(cfg).sign(MESSAGE, "alice@a.test"))
    verdict = asyncio.run(InboundChecker(cfg, resolver).check(
        signed, peer_ip="127.0.0.2", helo="mx.a.test", mail_from="alice@a.test"))
    assert verdict is not None and b"dmarc=pass" in verdict.header_to_prepend
    off = Config(data_dir=str(key_dir), auth=AuthConfig(check_inbound=False),
                 dkim=DkimConfig(sign=False))
    assert asyncio.run(signer_from_config(off).sign(MESSAGE)) == MESSAGE
    assert asyncio.run(InboundChecker(off, resolver).check(
        MESSAGE, peer_ip="127.0.0.2", helo="h", mail_from="")) is None
