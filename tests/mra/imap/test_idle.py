"""Several sessions on one mailbox: EXISTS, EXPUNGE / VANISHED and FETCH FLAGS on NOOP
and during IDLE; an SMTP delivery shows up in IDLE."""

from __future__ import annotations

import smtplib

from tests.mra.imap.conftest import Imap, message
from tests.mra.imap.wireclient import Wire

#: RFC-level promise of issue 5: changes reach an idling client within one second
PUSH_DEADLINE = 1.0


def idle(w: Wire) -> str:
    tag = w.tag()
    w.send(f"{tag} IDLE\r\n".encode())
    assert w.line().startswith(b"+ ")
    return tag


def pushed(w: Wire) -> bytes:
    """The next untagged line, which must arrive within the deadline."""
    w.sock.settimeout(PUSH_DEADLINE)
    try:
        return w.line()
    except TimeoutError:
        raise AssertionError("no update pushed within the deadline") from None
    finally:
        w.sock.settimeout(30)


def done(w: Wire, tag: str) -> None:
    w.send(b"DONE\r\n")
    assert w.collect(tag).tagged == f"{tag} OK IDLE terminated\r\n".encode()


def test_noop_shows_other_sessions_changes(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(message("one"))
    imap.take_recent()
    a, b = imap.wire(), imap.wire()
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    data = message("two")
    b.cmd(f"APPEND INBOX {{{len(data)}+}}\r\n".encode() + data)
    # b's own command already showed it and took \Recent (RFC 3501 §2.3.2)
    assert a.cmd("NOOP").untagged == [b"* 2 EXISTS\r\n"]
    b.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert a.cmd("NOOP").untagged == [b"* 1 FETCH (FLAGS (\\Flagged) UID 1)\r\n"]
    b.cmd("STORE 1 +FLAGS (\\Deleted)")
    b.cmd("EXPUNGE")
    # RFC 9051 §7.5.1: no EXPUNGE during FETCH by sequence number ...
    reply = a.cmd("FETCH 2 (UID)")
    assert not reply.has(b"EXPUNGE") and reply.has(b"* 2 FETCH (UID 2)")
    # ... but on NOOP
    assert b"* 1 EXPUNGE\r\n" in a.cmd("NOOP").untagged
    assert a.cmd("FETCH 1 (UID)").untagged == [b"* 1 FETCH (UID 2)\r\n"]


def test_qresync_session_sees_vanished(imap: Imap) -> None:
    inbox = imap.mail().folder("INBOX")
    inbox.append(message("one"))
    inbox.append(message("two"))
    a, b = imap.wire(), imap.wire()
    a.cmd("ENABLE QRESYNC")
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.cmd("EXPUNGE")
    assert a.cmd("NOOP").untagged[0] == b"* VANISHED 2\r\n"


def test_idle_pushes_exists_flags_and_expunge(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(message("one"))
    imap.take_recent()
    a, b, c = imap.wire(), imap.wire(), imap.wire()
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    tag = idle(a)
    data = message("two")
    c.cmd(b"APPEND INBOX {%d+}\r\n" % len(data) + data)  # c has nothing selected
    assert pushed(a) == b"* 2 EXISTS\r\n"
    assert pushed(a) == b"* 1 RECENT\r\n"  # a saw it first (RFC 3501 §2.3.2)
    assert b.cmd("NOOP").untagged == [b"* 2 EXISTS\r\n"]  # not \Recent for b
    b.cmd("STORE 2 +FLAGS (\\Seen)")
    assert pushed(a) == b"* 2 FETCH (FLAGS (\\Recent \\Seen) UID 2)\r\n"
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert pushed(a).startswith(b"* 1 FETCH (FLAGS (\\Deleted)")
    b.cmd("EXPUNGE")
    assert pushed(a) == b"* 1 EXPUNGE\r\n"
    done(a, tag)


def test_smtp_delivery_shows_up_in_idle(imap: Imap) -> None:
    a = imap.wire()
    a.cmd("SELECT INBOX")
    tag = idle(a)
    with smtplib.SMTP("127.0.0.1", imap.server.port("smtp"), timeout=30) as smtp:
        smtp.sendmail("sender@elsewhere.test", [imap.user], message("by smtp"))
    assert pushed(a) == b"* 1 EXISTS\r\n"
    done(a, tag)
    line = a.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]").untagged[0]
    assert b"Subject: by smtp" in line
