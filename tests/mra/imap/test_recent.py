"""\\Recent (RFC 3501 §2.3.2): one session gets it, EXAMINE only looks, IMAP4rev2
sessions never see it, the files move from new/ to cur/ once a session has taken them.
(The same rules against Dovecot: tests/conformance/scripts/recent.py.)"""

from __future__ import annotations

import time

from tests.mra.imap.conftest import Imap, message


def _files(imap: Imap, sub: str) -> list[str]:
    """The user's INBOX message files in ``new/`` or ``cur/``."""
    return [p.name for p in (imap.mail().maildir.root / sub).iterdir()]


def test_select_takes_recent_once_and_moves_files_to_cur(imap: Imap) -> None:
    inbox = imap.mail().folder("INBOX")
    inbox.append(message("one"))
    inbox.append(message("two"))
    maildir = imap.backend == "sqlite"  # files to look at only there
    assert not maildir or len(_files(imap, "new")) == 2
    a, b = imap.wire(), imap.wire()
    assert a.cmd("STATUS INBOX (RECENT)").untagged == [b"* STATUS INBOX (RECENT 2)\r\n"]
    assert b.cmd("EXAMINE INBOX").has(b"* 2 RECENT")  # EXAMINE looks ...
    assert b.cmd("SEARCH RECENT").untagged == [b"* SEARCH 1 2\r\n"]
    reply = a.cmd("SELECT INBOX")  # ... SELECT takes
    assert reply.has(b"* 2 RECENT")
    if maildir:  # moved after the SELECT answered (mailtool.store.recent_moves)
        deadline = time.monotonic() + 10
        while _files(imap, "new") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _files(imap, "new") == [] and len(_files(imap, "cur")) == 2
    assert a.cmd("FETCH 1 FLAGS").untagged == [b"* 1 FETCH (FLAGS (\\Recent))\r\n"]
    assert a.cmd("STORE 1 +FLAGS (\\Recent)").status == "BAD"  # RFC 3501 §2.3.2
    c = imap.wire()
    assert c.cmd("SELECT INBOX").has(b"* 0 RECENT")
    assert c.cmd("SEARCH RECENT").untagged == [b"* SEARCH\r\n"]
    assert c.cmd("STATUS INBOX (RECENT)").tagged.split()[2] == b"[CLIENTBUG]"


def test_new_mail_is_recent_for_the_session_that_has_it_selected(imap: Imap) -> None:
    a, b = imap.wire(), imap.wire()
    a.cmd("SELECT INBOX")
    data = message("new")
    b.cmd(f"APPEND INBOX {{{len(data)}+}}\r\n".encode() + data)
    assert a.cmd("NOOP").untagged == [b"* 1 EXISTS\r\n", b"* 1 RECENT\r\n"]
    assert a.cmd("SEARCH NEW").untagged == [b"* SEARCH 1\r\n"]
    assert b.cmd("STATUS INBOX (RECENT)").untagged == [b"* STATUS INBOX (RECENT 0)\r\n"]


def test_imap4rev2_session_does_not_see_recent(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(message("one"))
    a = imap.wire()
    a.cmd("ENABLE IMAP4rev2")
    assert not a.cmd("SELECT INBOX").has(b"RECENT")
    assert a.cmd("FETCH 1 FLAGS").untagged == [b"* 1 FETCH (FLAGS ())\r\n"]
