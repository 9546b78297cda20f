"""QUOTA without limits (RFC 9208 §9, issue 16 class 10): no empty QUOTA response."""

from __future__ import annotations

from tests.mra.imap.conftest import Imap


def test_no_limits_means_no_quota_root(imap: Imap) -> None:
    w = imap.wire()
    reply = w.cmd("GETQUOTAROOT INBOX")
    assert reply.status == "OK"
    assert reply.untagged == [b"* QUOTAROOT INBOX\r\n"]
    reply = w.cmd('GETQUOTA ""')
    assert reply.status == "NO" and not reply.untagged
