"""Acceptance (issue 7, point 5): alice@a.test and bob@b.test write to each other across
two mail servers found by MX, each reading over IMAP; then with a real Postfix as
b.test's MX, and Postfix sending to us."""

from __future__ import annotations

import pytest

from tests.e2e.two_domains import (
    A_IP,
    B_IP,
    BASE_RECORDS,
    alice_and_bob,
    domain_server,
    imap_messages,
    shared_port,
    submit,
)

pytestmark = pytest.mark.peer


def test_alice_and_bob_across_two_domains(tmp_path, dns_server):
    with alice_and_bob(tmp_path, dns_server(BASE_RECORDS)) as (a, b):
        submit(a, "alice@a.test", "alice-pw", ["bob@b.test"], "lunch")
        (got,) = imap_messages(b, "bob@b.test", "bob-pw")
        assert got["Subject"] == "lunch" and got["From"] == "alice@a.test"
        received = got.get_all("Received")
        # B received it from A's address, over TLS (STARTTLS was offered, so it was used)
        assert any(f"[{A_IP}]" in r and "by mx.b.test with ESMTPS" in r for r in received)
        assert any("by mx.a.test with ESMTPSA" in r for r in received)  # A's submission
        submit(
            b,
            "bob@b.test",
            "bob-pw",
            ["alice@a.test"],
            "re lunch",
            extra=f"In-Reply-To: {got['Message-ID']}\r\n",
        )
        (reply,) = imap_messages(a, "alice@a.test", "alice-pw")
        assert reply["Subject"] == "re lunch" and reply["In-Reply-To"] == "<lunch@a.test>"
        assert a.cli("queue", "list", "--json").stdout.strip() == "[]"
        assert b.cli("queue", "list", "--json").stdout.strip() == "[]"


def test_postfix_as_b_test_mx_and_postfix_sending_to_us(
    tmp_path, dns_server, certificate_authority
):
    import pwd
    import smtplib
    import subprocess
    import time

    from tests.peers.postfix import Postfix

    dns = dns_server(BASE_RECORDS)
    port = shared_port(A_IP, B_IP)
    a = domain_server(tmp_path / "a", A_IP, "mx.a.test", port, dns).start()
    postfix_user = pwd.getpwnam("postfix")
    pf = Postfix(
        host=B_IP,
        port=port,
        hostname="mx.b.test",
        domains=["b.test"],
        tls=certificate_authority.issue_cert("mx.b.test"),
        options={
            "mynetworks": "127.0.0.0/8",  # bob submits from loopback without AUTH
            "relayhost": f"[{A_IP}]:{port}",  # Postfix's way to a.test (it has no dnsmasq)
            "smtp_tls_security_level": "may",
            "smtpd_tls_received_header": "yes",
            "virtual_transport": "virtual",
            "virtual_minimum_uid": "1",
            "virtual_uid_maps": f"static:{postfix_user.pw_uid}",
            "virtual_gid_maps": f"static:{postfix_user.pw_gid}",
        },
    )
    mail = pf.workdir / "mail"
    pf.options.update(
        virtual_mailbox_base=str(mail), virtual_mailbox_maps=f"texthash:{pf.workdir / 'vmailbox'}"
    )
    try:
        mail.mkdir()
        (pf.workdir / "vmailbox").write_text("bob@b.test b.test/bob/\n")
        subprocess.run(["chown", "-R", "postfix:postfix", str(mail)], check=True)
        pf.start()
        a.add_user("alice@a.test", "alice-pw")
        submit(a, "alice@a.test", "alice-pw", ["bob@b.test"], "hello postfix")
        deadline = time.monotonic() + 30
        while not list((mail / "b.test" / "bob" / "new").glob("*")):
            assert time.monotonic() < deadline, pf.log() + a.log()
            time.sleep(0.2)
        (stored,) = (mail / "b.test" / "bob" / "new").iterdir()
        data = stored.read_bytes()
        assert b"Subject: hello postfix" in data
        assert b"(using TLS" in data  # Postfix's Received: we used its STARTTLS
        with smtplib.SMTP(B_IP, port, timeout=30) as c:
            c.sendmail(
                "bob@b.test",
                ["alice@a.test"],
                b"From: bob@b.test\r\nTo: alice@a.test\r\nSubject: from postfix\r\n"
                b"\r\nHi alice.\r\n",
            )
        (got,) = imap_messages(a, "alice@a.test", "alice-pw")
        assert got["Subject"] == "from postfix"
        assert any("from mx.b.test" in r and "by mx.a.test" in r for r in got.get_all("Received"))
    finally:
        pf.stop()
        a.stop()
