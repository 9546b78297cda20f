"""Acceptance (issue 7, point 5): alice@a.test and bob@b.test write to each other across
two mail servers found by MX, each reading over IMAP; then with a real Postfix as
b.test's MX, and Postfix sending to us."""

from __future__ import annotations

import pytest

from tests.e2e.two_domains import (
    A_IP,
    B_IP,
    BASE_RECORDS,
    domain_server,
    imap_messages,
    shared_port,
    submit,
)

pytestmark = pytest.mark.peer


def test_alice_and_bob_across_two_domains(tmp_path, dns_server):
    dns = dns_server(BASE_RECORDS)
    port = shared_port(A_IP, B_IP)
    a = domain_server(tmp_path / "a", A_IP, "mx.a.test", port, dns).start()
    b = domain_server(tmp_path / "b", B_IP, "mx.b.test", port, dns).start()
    try:
        a.add_user("alice@a.test", "alice-pw")
        b.add_user("bob@b.test", "bob-pw")
        submit(a, "alice@a.test", "alice-pw", ["bob@b.test"], "lunch")
        (got,) = imap_messages(b, "bob@b.test", "bob-pw")
        assert got["Subject"] == "lunch" and got["From"] == "alice@a.test"
        received = got.get_all("Received")
        # B received it from A's address, over TLS (STARTTLS was offered, so it was used)
        assert any(f"[{A_IP}]" in r and "by mx.b.test with ESMTPS" in r for r in received)
        assert any("by mx.a.test with ESMTPSA" in r for r in received)  # A's submission
        submit(b, "bob@b.test", "bob-pw", ["alice@a.test"], "re lunch",
               extra=f"In-Reply-To: {got['Message-ID']}\r\n")
        (reply,) = imap_messages(a, "alice@a.test", "alice-pw")
        assert reply["Subject"] == "re lunch" and reply["In-Reply-To"] == "<lunch@a.test>"
        assert a.cli("queue", "list", "--json").stdout.strip() == "[]"
        assert b.cli("queue", "list", "--json").stdout.strip() == "[]"
    finally:
        a.stop()
        b.stop()
