"""Mail submitted to a real `mailtool serve` is DKIM-signed with the domain's keys."""

from __future__ import annotations

import smtplib
import ssl
import time

import dkim

from mailtool.mta.authn.keys import load_keys


def test_submitted_mail_is_signed_and_verifies(mailtool_server):
    srv = mailtool_server(services=("smtp", "submission"))
    srv.add_user("alice@a.test")
    srv.add_user("bob@a.test")
    srv.cli("dkim", "keygen", "a.test", "--selector", "s1", "--algorithm", "rsa")
    body = (
        b"From: alice@a.test\r\nTo: bob@a.test\r\nSubject: signed\r\n\r\nhello, signed world\r\n"
    )
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(*srv.address("submission")) as smtp:
        smtp.starttls(context=ctx)
        smtp.login("alice@a.test", "secret")
        smtp.sendmail("alice@a.test", ["bob@a.test"], body)
    root = srv.data_dir / "mail" / "a.test" / "bob"
    for _ in range(100):
        files = [p for sub in ("new", "cur") for p in (root / sub).iterdir()]
        if files:
            break
        time.sleep(0.05)
    assert files, "not delivered"
    delivered = files[0].read_bytes()
    assert b"DKIM-Signature:" in delivered
    assert b"d=a.test" in delivered and b"s=s1" in delivered
    records = {
        f"{k.selector}._domainkey.{k.domain}.".encode(): k.txt_record().encode()
        for k in load_keys(srv.data_dir, "a.test")
    }
    # our trace headers sit above the signature; the signed part verifies as it is
    signed = delivered[delivered.index(b"DKIM-Signature:") :]
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: records.get(name))
    tampered = signed.replace(b"hello, signed world", b"hello, forged world")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: records.get(name))
