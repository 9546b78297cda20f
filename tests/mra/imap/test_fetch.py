"""FETCH of every item: ENVELOPE, BODYSTRUCTURE, BODY, BODY[section]<partial>,
BODY.PEEK, BINARY[...], BINARY.SIZE, RFC822.*, INTERNALDATE, FLAGS, MODSEQ, UID;
CHANGEDSINCE and VANISHED (RFC 7162)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.mra.imap.conftest import Imap

MULTIPART = (
    b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: parts\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <p@example.test>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello world\r\n"
    b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAECAw==\r\n--XX--\r\n"
)


def selected(imap: Imap, *messages: bytes, flags: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    inbox = imap.mail().folder("INBOX")
    when = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC).timestamp()
    for m in messages:
        inbox.append(m, flags=flags, internal_date=when)
    imap.take_recent()
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    return w


def test_index_items(imap: Imap) -> None:
    w = selected(imap, MULTIPART, flags=("\\Flagged",))
    reply = w.cmd("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ)")
    # RFC 7162 §3.1: the first CONDSTORE-enabling command also gets OK [HIGHESTMODSEQ]
    assert reply.untagged[0].startswith(b"* OK [HIGHESTMODSEQ ")
    line = reply.untagged[1]
    assert line.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Flagged) ")
    assert b'INTERNALDATE "27-Nov-2026 10:00:00 +0000"' in line
    assert b"RFC822.SIZE %d" % len(MULTIPART) in line and b"MODSEQ (" in line
    reply = w.cmd("FETCH 1 FAST")
    assert b"FLAGS" in reply.untagged[0] and b"RFC822.SIZE" in reply.untagged[0]


def test_structure_items(imap: Imap) -> None:
    w = selected(imap, MULTIPART)
    reply = w.cmd("FETCH 1 (ENVELOPE BODY BODYSTRUCTURE)")
    line = reply.untagged[0]
    assert (
        b'ENVELOPE ("Fri, 27 Nov 2026 10:00:00 +0000" "parts" (("Ann" NIL "ann" "example.test"))'
        in line
    )
    assert b'BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 11 0)(' in line
    assert b'BODYSTRUCTURE (("text" "plain"' in line and b'"mixed" ("boundary" "XX")' in line


def test_sections_partial_and_binary(imap: Imap) -> None:
    w = selected(imap, MULTIPART)
    reply = w.cmd(
        "FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[]<0.4> BINARY.PEEK[2] BINARY.SIZE[2])"
    )
    line = reply.untagged[0]
    assert b"BODY[1] {11}\r\nhello world" in line
    assert b"BODY[2.MIME] {" in line and b"Content-Transfer-Encoding: base64" in line
    assert b"BODY[]<0> {4}\r\nFrom" in line
    assert b"BINARY[2] ~{4}\r\n\x00\x01\x02\x03" in line
    assert b"BINARY.SIZE[2] 4" in line
    reply = w.cmd(
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (To From Date Message-ID MIME-Version Content-Type)])"
    )
    assert b"Subject: parts\r\n\r\n" in reply.untagged[0]
    reply = w.cmd("FETCH 1 (RFC822.HEADER RFC822.TEXT)")
    assert b"RFC822.HEADER {" in reply.untagged[0] and b"RFC822.TEXT {" in reply.untagged[0]


def test_body_fetch_sets_seen_unless_peek(imap: Imap) -> None:
    w = selected(imap, MULTIPART, MULTIPART)
    reply = w.cmd("FETCH 1 BODY.PEEK[TEXT]")
    assert b"FLAGS" not in reply.untagged[0]
    reply = w.cmd("FETCH 1 BODY[TEXT]")
    assert b"FLAGS (\\Seen)" in reply.untagged[0]
    reply = w.cmd("FETCH 2 RFC822")
    assert (
        b"FLAGS (\\Seen)" in reply.untagged[0]
        and b"RFC822 {%d}" % len(MULTIPART) in reply.untagged[0]
    )
    w.cmd("EXAMINE INBOX")
    w.cmd("UID STORE 1 -FLAGS (\\Seen)")  # read-only: refused
    reply = w.cmd("FETCH 1:2 FLAGS")
    assert all(b"\\Seen" in line for line in reply.untagged)


def test_uid_fetch_includes_uid_and_changedsince(imap: Imap) -> None:
    w = selected(imap, MULTIPART, MULTIPART, MULTIPART)
    reply = w.cmd("UID FETCH 1:* FLAGS")
    assert [line[:20] for line in reply.untagged] == [
        b"* 1 FETCH (UID 1 FLA",
        b"* 2 FETCH (UID 2 FLA",
        b"* 3 FETCH (UID 3 FLA",
    ]
    line = w.cmd("FETCH 3 MODSEQ").lines(b"* 3 FETCH")[0]
    modseq = int(line.split(b"MODSEQ (")[1].split(b")")[0])
    w.cmd("STORE 2 +FLAGS.SILENT (\\Answered)")
    reply = w.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
    assert len(reply.untagged) == 1 and reply.untagged[0].startswith(
        b"* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ ("
    )


def test_vanished_earlier(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("ENABLE QRESYNC").untagged == [b"* ENABLED QRESYNC\r\n"]
    inbox = imap.mail().folder("INBOX")
    for _ in range(3):
        inbox.append(MULTIPART)
    imap.take_recent()
    reply = w.cmd("SELECT INBOX")
    modseq = int(reply.lines(b"* OK [HIGHESTMODSEQ")[0].split()[3].rstrip(b"]"))
    w.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    reply = w.cmd("EXPUNGE")
    assert reply.untagged == [b"* VANISHED 2\r\n"]
    reply = w.cmd(f"UID FETCH 1:* FLAGS (CHANGEDSINCE {modseq} VANISHED)")
    assert reply.untagged[0] == b"* VANISHED (EARLIER) 2\r\n"
    uidvalidity = int(w.cmd("STATUS INBOX (UIDVALIDITY)").untagged[0].split()[-1].rstrip(b")"))
    w.cmd("UNSELECT")
    reply = w.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} 1:3))")
    assert b"* VANISHED (EARLIER) 2\r\n" in reply.untagged


@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)  # drops files into new/
def test_rfc822_size_of_a_bare_lf_file_is_its_crlf_size(imap: Imap) -> None:
    """A file another program dropped into new/ with bare LF line endings: RFC822.SIZE
    is the size of the CRLF form that BODY[] sends (RFC 9051 §2.2), not the file's
    size nor the ``,S=`` of its name; Dovecot's ``,W=`` is taken as it is."""
    lf = b"From: ann@example.test\nSubject: lf only\n\nline one\nline two\r\n"
    crlf = lf.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    inbox = imap.mail().folder("INBOX")
    (inbox.path / "new" / f"1700000000.M1P1.mda,S={len(lf)}").write_bytes(lf)
    (inbox.path / "new" / f"1700000001.M2P1.dovecot,S={len(lf)},W={len(crlf)}").write_bytes(lf)
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    for n in (1, 2):
        reply = w.cmd(f"FETCH {n} (RFC822.SIZE BODY.PEEK[])")
        head = reply.untagged[0]
        assert f"RFC822.SIZE {len(crlf)} ".encode() in head, head
        assert head.endswith(b"{%d}\r\n" % len(crlf) + crlf + b")\r\n"), head


def test_rfc822_size_of_delivered_bytes_counts_bare_lf_as_crlf(imap: Imap) -> None:
    """Bytes handed to the store with bare LFs (an MDA) are indexed at their CRLF size."""
    info = imap.mail().folder("INBOX").append(b"Subject: x\n\nbody\n")
    assert info.size == len(b"Subject: x\r\n\r\nbody\r\n")
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    head = w.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[])").untagged[0]
    assert b"RFC822.SIZE 20 " in head and head.endswith(b"{20}\r\nSubject: x\r\n\r\nbody\r\n)\r\n")
