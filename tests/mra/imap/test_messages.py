"""STORE (.SILENT, UNCHANGEDSINCE), COPY / MOVE (COPYUID, TRYCREATE), EXPUNGE / UID
EXPUNGE, APPEND (flags, date, multi-line literals, APPENDUID, TRYCREATE, TOOBIG)."""

from __future__ import annotations

from tests.mra.imap.conftest import Imap, message
from tests.mra.imap.wireclient import Wire


def fill(imap: Imap, n: int, folder: str = "INBOX") -> Wire:
    inbox = imap.mail().folder(folder)
    for i in range(n):
        inbox.append(message(f"m{i}"))
    imap.take_recent(folder)
    w = imap.wire()
    assert w.cmd(f"SELECT {folder}").status == "OK"
    return w


def test_store_modes_and_silent(imap: Imap) -> None:
    w = fill(imap, 2)
    reply = w.cmd("STORE 1 +FLAGS (\\Seen $Important)")
    # RFC 3501 §7.2.6: a keyword new to the mailbox is announced before the FETCH
    assert (
        reply.untagged[0]
        == b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Important)\r\n"
    )
    assert reply.untagged[1].startswith(b"* OK [PERMANENTFLAGS (\\Answered ")
    assert reply.untagged[2].startswith(b"* 1 FETCH (FLAGS (\\Seen $Important) UID 1")
    reply = w.cmd("STORE 1 -FLAGS (\\Seen)")
    assert reply.untagged[0].startswith(b"* 1 FETCH (FLAGS ($Important) UID 1")
    reply = w.cmd("STORE 1:2 FLAGS.SILENT (\\Draft)")
    assert reply.status == "OK" and not reply.untagged
    reply = w.cmd("FETCH 1:2 FLAGS")
    assert all(b"FLAGS (\\Draft)" in line for line in reply.untagged)


def test_store_unchangedsince_reports_modified(imap: Imap) -> None:
    w = fill(imap, 2)
    line = w.cmd("FETCH 1 MODSEQ").lines(b"* 1 FETCH")[0]  # after OK [HIGHESTMODSEQ]
    modseq = int(line.split(b"MODSEQ (")[1].split(b")")[0])
    other = imap.wire()
    other.cmd("SELECT INBOX")
    assert other.cmd("STORE 2 +FLAGS (\\Flagged)").status == "OK"
    reply = w.cmd(f"STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Seen)")
    assert reply.tagged.endswith(
        b"OK [MODIFIED 2] STORE completed; some messages were modified\r\n"
    )
    assert reply.has(b"* 1 FETCH (FLAGS (\\Seen) UID 1 MODSEQ (")
    reply = w.cmd(f"UID STORE 2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Seen)")
    assert b"[MODIFIED 2]" in reply.tagged


def test_copy_and_move_with_copyuid(imap: Imap) -> None:
    w = fill(imap, 3)
    reply = w.cmd("COPY 1:2 Archive")
    assert reply.status == "OK" and b"[COPYUID " in reply.tagged and b" 1:2 1:2]" in reply.tagged
    reply = w.cmd("MOVE 2 Trash")
    assert reply.untagged[0].startswith(b"* OK [COPYUID ")
    assert reply.untagged[1] == b"* 2 EXPUNGE\r\n"
    reply = w.cmd("UID MOVE 3 Trash")
    assert b"* 2 EXPUNGE\r\n" in reply.untagged
    assert w.cmd("COPY 1 Nowhere").tagged.endswith(b"NO [TRYCREATE] Mailbox does not exist\r\n")
    status = w.cmd("STATUS Trash (MESSAGES)").untagged[0]
    assert status == b"* STATUS Trash (MESSAGES 2)\r\n"


def test_expunge_and_uid_expunge(imap: Imap) -> None:
    w = fill(imap, 4)
    w.cmd("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    reply = w.cmd("UID EXPUNGE 2:3")
    assert reply.untagged == [b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    reply = w.cmd("EXPUNGE")
    assert reply.untagged == [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"]
    assert w.cmd("FETCH 1 FLAGS").status == "BAD" or not w.cmd("FETCH 1:* FLAGS").untagged


def test_append_flags_date_literal_appenduid(imap: Imap) -> None:
    w = imap.wire()
    body = message("appended", body="line one\r\nline two\r\n\r\nline four")
    tag = w.tag()
    w.send(
        f'{tag} APPEND Drafts (\\Draft $Todo) "05-Jan-2025 08:30:00 +0100" '
        f"{{{len(body)}}}\r\n".encode()
    )
    assert w.line().startswith(b"+ ")
    w.send(body + b"\r\n")
    reply = w.collect(tag)
    assert (
        reply.status == "OK"
        and b"[APPENDUID " in reply.tagged
        and reply.tagged.endswith(b" 1] APPEND completed\r\n")
    )
    w.cmd("SELECT Drafts")
    line = w.cmd("FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])").untagged[0]
    assert b"FLAGS (\\Draft \\Recent $Todo)" in line  # RFC 3501 §6.3.11: \Recent
    assert b'INTERNALDATE " 5-Jan-2025 07:30:00 +0000"' in line
    assert body in line
    # LITERAL+: no continuation
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    assert w.collect(tag).status == "OK"
    tag = w.tag()
    w.send(f"{tag} APPEND Nowhere {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    assert w.collect(tag).tagged.endswith(b"NO [TRYCREATE] Mailbox does not exist\r\n")


def test_append_too_big_is_refused_before_the_literal(imap_server) -> None:  # type: ignore[no-untyped-def]
    imap = imap_server(config={"limits": {"max_message_size": 2048}})
    w = imap.wire()
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{4096}}\r\n".encode())
    reply = w.collect(tag)
    assert reply.status == "NO" and b"[TOOBIG]" in reply.tagged
    assert w.cmd("NOOP").status == "OK"  # the connection lives on
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{4096+}}\r\n".encode() + b"x" * 4096 + b"\r\n")
    assert w.line().startswith(b"* BYE [TOOBIG]")  # RFC 7888 §4: non-synchronizing: BYE
    assert Wire(imap.port).greeting.startswith(b"* OK")  # the server lives on


def test_appendlimit_is_the_limit_append_enforces(imap_server) -> None:  # type: ignore[no-untyped-def]
    """RFC 7889: APPENDLIMIT=<n> in CAPABILITY (before and after login) and in STATUS;
    a message of n bytes is accepted, one of n + 1 refused with TOOBIG."""
    imap = imap_server(config={"limits": {"max_message_size": 2048}})
    assert b" APPENDLIMIT=2048 " in Wire(imap.port).greeting
    w = imap.wire()
    assert b" APPENDLIMIT=2048" in w.cmd("CAPABILITY").untagged[0]
    reply = w.cmd("STATUS INBOX (APPENDLIMIT)")
    assert reply.untagged == [b"* STATUS INBOX (APPENDLIMIT 2048)\r\n"]
    body = message(body="x" * 2048)[:2048]
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    assert w.collect(tag).status == "OK"
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{2049}}\r\n".encode())
    assert b"NO [TOOBIG]" in w.collect(tag).tagged
