"""Mail submitted to a real `mailtool serve` is DKIM-signed with the domain's keys."""

from __future__ import annotations

import json
import smtplib
import ssl

import dkim

from tests.mta.maildir_view import wait_for_mail


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
    (delivered,) = wait_for_mail(srv, "bob@a.test", timeout=5)  # either backend
    assert b"DKIM-Signature:" in delivered
    assert b"d=a.test" in delivered and b"s=s1" in delivered
    # the published records as `dkim list` shows them (the keys are files, or rows)
    records = {
        f"{k['name']}.".encode(): k["txt"].encode()
        for k in json.loads(srv.cli("dkim", "list", "--json").stdout)
    }
    # our trace headers sit above the signature; the signed part verifies as it is
    signed = delivered[delivered.index(b"DKIM-Signature:") :]
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: records.get(name))
    tampered = signed.replace(b"hello, signed world", b"hello, forged world")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: records.get(name))
