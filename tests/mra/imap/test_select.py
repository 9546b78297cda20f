"""SELECT / EXAMINE, UIDVALIDITY and UIDs across restarts, Maildir interop
(flags in file names, files dropped into new/), CLOSE / UNSELECT."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from tests.mra.imap.conftest import Imap, message


def test_select_answers(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(message("one"), flags=["\\Seen"])
    imap.mail().folder("INBOX").append(message("two"))
    w = imap.wire()
    reply = w.cmd("SELECT INBOX")
    assert reply.tagged.endswith(b"OK [READ-WRITE] SELECT completed\r\n")
    assert b"* 2 EXISTS\r\n" in reply.untagged
    assert reply.has(b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)")
    # RFC 3501 §7.1: the flags in use (keywords too, none here) and \* for new keywords
    assert reply.has(b"[PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen \\*)]")
    assert reply.has(b"* OK [UNSEEN 2]") and reply.has(b"[UIDNEXT 3]")
    assert reply.has(b"[UIDVALIDITY ") and reply.has(b"[HIGHESTMODSEQ ")
    reply = w.cmd("EXAMINE INBOX")
    assert reply.untagged[0].startswith(b"* OK [CLOSED]")
    assert reply.tagged.endswith(b"OK [READ-ONLY] EXAMINE completed\r\n")
    assert w.cmd("STORE 1 +FLAGS (\\Flagged)").status == "NO"
    assert w.cmd("UNSELECT").status == "OK"
    assert w.cmd("FETCH 1 FLAGS").status == "BAD"
    assert w.cmd("SELECT Nope").tagged.endswith(b"NO [NONEXISTENT] Mailbox does not exist\r\n")


def test_rev2_select_has_no_recent(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("ENABLE IMAP4rev2").untagged == [b"* ENABLED IMAP4rev2\r\n"]
    reply = w.cmd("SELECT INBOX")
    assert not reply.has(b"RECENT") and reply.has(b'* LIST () "/" INBOX')


def test_uids_persist_and_are_never_reused(
    imap_server: Callable[..., Imap],
) -> None:
    imap = imap_server()
    c = imap.connect()
    for i in range(3):
        c.append("INBOX", None, None, message(f"m{i}"))
    c.select("INBOX")
    _, [validity] = c.response("UIDVALIDITY")
    c.store("3", "+FLAGS", "\\Deleted")
    c.expunge()
    c.logout()
    imap.server.restart()
    c = imap.connect()
    c.select("INBOX")
    assert c.response("UIDVALIDITY")[1] == [validity]
    c.append("INBOX", None, None, message("after restart"))
    c.select("INBOX")
    _, data = c.uid("SEARCH", "ALL")
    assert data == [b"1 2 4"]  # UID 3 was expunged and is not handed out again
    c.logout()


@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)  # reads Maildir files
def test_flags_are_in_maildir_file_names(imap: Imap) -> None:
    c = imap.connect()
    c.append("INBOX", None, None, message("flagged"))
    c.select("INBOX")
    c.store("1", "+FLAGS", "(\\Seen \\Flagged)")
    root = imap.server.data_dir / "mail" / "example.test" / imap.user.split("@")[0]
    names = os.listdir(root / "cur")
    assert len(names) == 1 and names[0].endswith(":2,FS")
    c.logout()


@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)  # writes into the Maildir
def test_message_dropped_into_new_gets_a_fresh_uid(imap: Imap) -> None:
    c = imap.connect()
    c.append("INBOX", None, None, message("first"))
    c.select("INBOX")
    root = imap.server.data_dir / "mail" / "example.test" / imap.user.split("@")[0]
    name = f"{int(time.time())}.M1P1.othermta"
    (root / "tmp" / name).write_bytes(message("dropped"))
    os.rename(root / "tmp" / name, root / "new" / name)
    for _ in range(50):  # the index notices within its rescan interval
        c.noop()
        if c.response("EXISTS")[1] not in ([None], [b"1"]):
            break
        time.sleep(0.1)
    _, data = c.uid("FETCH", "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: dropped" in data[0][1]
    c.logout()


def test_close_expunges_deleted_silently(imap: Imap) -> None:
    mail = imap.mail()
    mail.folder("INBOX").append(message("keep"))
    mail.folder("INBOX").append(message("drop"), flags=["\\Deleted"])
    w = imap.wire()
    w.cmd("SELECT INBOX")
    reply = w.cmd("CLOSE")
    assert reply.status == "OK" and not reply.has(b"EXPUNGE")
    assert w.cmd("STATUS INBOX (MESSAGES)").untagged == [b"* STATUS INBOX (MESSAGES 1)\r\n"]
