"""ID, ENABLE, QUOTA, CHECK, NOOP; sequence numbers beyond the mailbox; a selected
mailbox deleted by another session."""

from __future__ import annotations

from mailtool.store.accounts import Quota
from tests.mra.imap.conftest import Imap, message


def test_id_and_enable(imap: Imap) -> None:
    w = imap.wire(login=False)
    reply = w.cmd('ID ("name" "test-client" "version" "1.0")')
    assert reply.untagged[0].startswith(b'* ID ("name" "mailtool" "version" ')
    assert w.cmd("ENABLE CONDSTORE").status == "BAD"  # not authenticated yet
    assert w.login(imap.user, "correct horse").status == "OK"
    reply = w.cmd("ENABLE CONDSTORE QRESYNC X-UNKNOWN")
    assert reply.untagged == [b"* ENABLED CONDSTORE QRESYNC\r\n"]
    assert w.cmd("ENABLE CONDSTORE").untagged == [b"* ENABLED\r\n"]  # already on


def test_quota(imap: Imap) -> None:
    imap.accounts.set_quota(imap.user, Quota(storage_bytes=10 * 1024 * 1024, messages=100))
    imap.mail().folder("INBOX").append(message("x", body="y" * 3000))
    w = imap.wire()
    reply = w.cmd("GETQUOTAROOT INBOX")
    assert reply.untagged[0] == b'* QUOTAROOT INBOX ""\r\n'
    assert reply.untagged[1] == b'* QUOTA "" (STORAGE 4 10240 MESSAGE 1 100)\r\n'
    assert w.cmd('GETQUOTA ""').untagged == [reply.untagged[1]]
    assert b"[NOPERM]" in w.cmd('SETQUOTA "" (STORAGE 99999999)').tagged
    assert w.cmd('GETQUOTA "other"').status == "NO"


def test_check_noop_and_bad_sequence_numbers(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(message("only"))
    w = imap.wire()
    w.cmd("SELECT INBOX")
    assert w.cmd("CHECK").status == "OK" and w.cmd("NOOP").status == "OK"
    assert w.cmd("FETCH 2 FLAGS").status == "BAD"
    assert w.cmd("FETCH 1:* FLAGS").status == "OK"
    # RFC 3501 §2.3.2: this session's SELECT took \Recent
    assert w.cmd("UID FETCH 5:* FLAGS").untagged == [b"* 1 FETCH (UID 1 FLAGS (\\Recent))\r\n"]
    assert w.cmd("UID FETCH 5:9 FLAGS").untagged == []


def test_selected_mailbox_deleted_elsewhere(imap: Imap) -> None:
    a, b = imap.wire(), imap.wire()
    assert a.cmd("CREATE Temp").status == "OK"
    a.cmd("SELECT Temp")
    assert b.cmd("DELETE Temp").status == "OK"
    a.send(b"x NOOP\r\n")
    assert a.line() == b"* BYE Selected mailbox was deleted\r\n"
    assert a.closed()
