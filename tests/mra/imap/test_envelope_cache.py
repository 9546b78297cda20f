"""FETCH ENVELOPE from the index's envelope cache (issue 22 point 5), on both backends:
the first FETCH fills it, the next one reads no message (the stored bytes are changed
behind the store's back and the answer does not change), every answer is byte-identical
to a fresh parse for clients with and without UTF8=ACCEPT, an expunged message leaves
no row, a message delivered after the fill gets its envelope."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from mailtool.mra.imap.envelope_cache import envelope_forms, header_forms
from mailtool.mra.imap.fetch import _value
from mailtool.protocol import mime
from mailtool.protocol.imap.fetch import FetchAttr
from mailtool.protocol.imap.responses import FetchData, format_response
from mailtool.store.interfaces import read_header
from tests.mra.imap.conftest import Imap
from tests.mra.imap.wireclient import Wire

SYNC = "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"
INDEX_ONLY = "(FLAGS INTERNALDATE RFC822.SIZE)"

MESSAGES = [
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: first\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <one@example.test>\r\n\r\nHi.\r\n",
    # non-ASCII UTF-8 header: raw for UTF8=ACCEPT, encoded words for the others
    "From: Jürgen Groß <j@example.test>\r\nTo: Zoë <zoe@example.test>,"
    ' "Ann" <ann@example.test>\r\nSubject: Grüße aus Köln\r\nIn-Reply-To: <one@x>\r\n'
    "\r\nGrüße\r\n".encode(),
    # bytes that are not UTF-8 (Latin-1), an encoded word, a folded subject
    b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.test>\r\nSubject: caf\xe9 and\r\n"
    b" more\r\nCc: undisclosed-recipients:;\r\n\r\nbody\r\n",
    # a subject longer than a quoted string may be (a literal inside ENVELOPE)
    b"From: x@example.test\r\nSubject: " + b"long " * 300 + b"\r\n\r\nbody\r\n",
    # no header fields at all
    b"\r\njust a body\r\n",
]


def _fill(imap: Imap) -> None:
    inbox = imap.mail().folder("INBOX")
    for raw in MESSAGES:
        inbox.append(raw)
    imap.take_recent()  # plain flags for the sessions below


def _session(imap: Imap, utf8: bool) -> Wire:
    w = imap.wire()
    if utf8:
        assert w.cmd("ENABLE UTF8=ACCEPT").status == "OK"
    assert w.cmd("SELECT INBOX").status == "OK"
    return w


def _envelope_bytes(raw: bytes, utf8: bool) -> bytes:
    """ENVELOPE as the code before the cache wrote it: parsed, formatted whole."""
    attr = FetchAttr("ENVELOPE")
    value = _value(attr, _Meta(), mime.parse(raw), utf8=utf8)
    line = format_response(FetchData(1, ((attr, value),)), utf8=utf8)
    assert line.startswith(b"* 1 FETCH (ENVELOPE ") and line.endswith(b")\r\n")
    return line[len(b"* 1 FETCH (ENVELOPE ") : -3]


class _Meta:
    uid = size = modseq = 0
    internal_date = 0.0
    flags: frozenset[str] = frozenset()


def _expected(w: Wire, utf8: bool) -> tuple[list[bytes], list[bytes]]:
    """The sync's lines as a fresh parse gives them: the index items' line (a FETCH
    that never reads a message) with each stored message's ENVELOPE added; and the
    ENVELOPEs."""
    index_lines = w.cmd(f"UID FETCH 1:* {INDEX_ONLY}").untagged
    bodies = w.cmd("UID FETCH 1:* (BODY.PEEK[])").untagged
    out, envelopes = [], []
    for line, body in zip(index_lines, bodies, strict=True):
        match = re.search(rb"BODY\[\] \{(\d+)\}\r\n", body)
        assert match is not None
        raw = body[match.end() : match.end() + int(match[1])]
        assert line.endswith(b")\r\n")
        envelopes.append(_envelope_bytes(raw, utf8))
        out.append(line[:-3] + b" ENVELOPE " + envelopes[-1] + b")\r\n")
    return out, envelopes


@pytest.mark.parametrize("utf8", [True, False], ids=["utf8-accept", "no-utf8"])
def test_cached_envelope_is_byte_identical(imap: Imap, utf8: bool) -> None:
    _fill(imap)
    w = _session(imap, utf8)
    expected, envelopes = _expected(w, utf8)
    first = w.cmd(f"UID FETCH 1:* {SYNC}")  # fills the cache
    assert first.status == "OK" and first.untagged == expected
    second = w.cmd(f"UID FETCH 1:* {SYNC}")  # from the cache
    assert second.status == "OK" and second.untagged == expected
    # the other kind of client reads the rows this one wrote: its own form
    other = _session(imap, not utf8)
    assert other.cmd(f"UID FETCH 1:* {SYNC}").untagged == _expected(other, not utf8)[0]
    # a subset, by sequence number, items in another order
    assert w.cmd("FETCH 2,4 (ENVELOPE UID)").untagged == [
        b"* %d FETCH (ENVELOPE %s UID %d)\r\n" % (n, envelopes[n - 1], n) for n in (2, 4)
    ]
    w.close()
    other.close()


def _tamper(imap: Imap, uid: int, old: bytes, new: bytes) -> None:
    """Change a stored message behind the store's back (same size)."""
    assert len(old) == len(new)
    mail = imap.mail()
    if imap.backend == "sqlite":
        folder = mail.folder("INBOX")
        path = folder.path / folder.message(uid).path
        path.write_bytes(path.read_bytes().replace(old, new))
        return
    with mail.db.transaction() as conn:
        conn.execute(
            "UPDATE mail_body_chunks SET data = overlay(data placing %s from position(%s in data))"
            " WHERE seq = 0 AND body_id ="
            " (SELECT m.body_id FROM mail_messages m JOIN mail_folders f ON f.id = m.folder_id"
            " WHERE f.address = %s AND f.name = 'INBOX' AND m.uid = %s)",
            (new, old, imap.user, uid),
        )


def test_second_fetch_reads_no_message(imap: Imap) -> None:
    _fill(imap)
    w = _session(imap, True)
    first = w.cmd(f"UID FETCH 1:* {SYNC}")
    assert first.status == "OK" and b'"first"' in first.untagged[0]
    _tamper(imap, 1, b"Subject: first", b"Subject: FIRST")
    # the store now holds the changed bytes (a header fetch reads them) ...
    assert w.cmd("UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").has(b"Subject: FIRST")
    # ... and the sync's FETCH still answers from the cache: it read no message
    assert w.cmd(f"UID FETCH 1:* {SYNC}").untagged == first.untagged
    w.close()


def _cached(imap: Imap, uids: list[int]) -> dict[int, bytes]:
    return imap.mail().index.envelopes("INBOX", uids, utf8=True)  # type: ignore[no-any-return]


def test_expunged_message_leaves_no_row(imap: Imap) -> None:
    _fill(imap)
    w = _session(imap, True)
    assert w.cmd(f"UID FETCH 1:* {SYNC}").status == "OK"
    assert sorted(_cached(imap, [1, 2, 3, 4, 5])) == [1, 2, 3, 4, 5]
    assert w.cmd("UID STORE 2,4 +FLAGS.SILENT (\\Deleted)").status == "OK"
    assert w.cmd("EXPUNGE").status == "OK"
    assert sorted(_cached(imap, [1, 2, 3, 4, 5])) == [1, 3, 5]
    assert len(w.cmd(f"UID FETCH 1:* {SYNC}").untagged) == 3
    w.close()


def test_expunged_by_another_session_as_before(imap: Imap) -> None:
    """A message another session expunged (not yet announced here): left out of the
    answer, the FETCH still succeeds (RFC 2180 §4.1.3), as without the cache."""
    _fill(imap)
    w = _session(imap, True)
    other = _session(imap, True)
    assert other.cmd("UID STORE 3 +FLAGS.SILENT (\\Deleted)").status == "OK"
    assert other.cmd("EXPUNGE").status == "OK"
    reply = w.cmd(f"UID FETCH 1:* {SYNC}")  # cache empty: each message read
    assert reply.status == "OK" and b"expunged" in reply.tagged
    assert [re.search(rb"UID (\d+)", line)[1] for line in reply.lines(b"* ")  # type: ignore[index]
            if b" FETCH " in line] == [b"1", b"2", b"4", b"5"]  # fmt: skip
    assert 3 not in _cached(imap, [1, 2, 3, 4, 5])
    w.close()
    other.close()


def test_message_delivered_after_fill_gets_its_envelope(imap: Imap) -> None:
    _fill(imap)
    w = _session(imap, False)
    assert w.cmd(f"UID FETCH 1:* {SYNC}").status == "OK"
    late = "From: Late <late@example.test>\r\nSubject: später\r\n\r\nx\r\n".encode()
    imap.mail().folder("INBOX").append(late)
    assert w.cmd("NOOP").has(b"* 6 EXISTS")
    reply = w.cmd(f"UID FETCH 1:* {SYNC}")
    assert len(reply.lines(b"* ")) == 6 and b"=?utf-8?" in reply.untagged[5].lower()
    assert sorted(_cached(imap, [1, 2, 3, 4, 5, 6])) == [1, 2, 3, 4, 5, 6]
    assert w.cmd(f"UID FETCH 6 {SYNC}").untagged == reply.untagged[5:]
    w.close()


TRICKY = [
    *MESSAGES,
    b"From: a@example.test\r\nMessage-ID: <tab\there@x>\r\n\r\nx\r\n",  # quoted only in UTF-8
    b"From: a@example.test\r\nSubject: nul \x00 here\r\n\r\nx\r\n",  # ASCII, U+FFFD out
    b"From: a@example.test\r\nX-Note: \xc3\xa9t\xc3\xa9\r\nSubject: plain\r\n\r\nx\r\n",
    b"From: a@example.test\r\nDate: \x7f\r\n\r\nx\r\n",
]


@pytest.mark.parametrize("raw", TRICKY)
def test_both_forms_are_what_fetch_sent(raw: bytes) -> None:
    """:func:`envelope_forms` (which skips the second formatting when it cannot differ)
    against the value FETCH formatted for each kind of client before the cache."""
    utf8, other = envelope_forms(mime.parse(raw))
    assert utf8 == _envelope_bytes(raw, True)
    assert (other or utf8) == _envelope_bytes(raw, False)


CORPUS = sorted((Path(__file__).parents[2] / "data" / "mime").glob("*.eml"))


@pytest.mark.parametrize("raw", [*TRICKY, *(p.read_bytes() for p in CORPUS)])
def test_header_block_alone_gives_the_same_envelope(raw: bytes) -> None:
    """A cache miss reads only the header block (the store's ``read_header``): its
    envelope is the whole message's, or None (then the whole message is parsed)."""
    forms = header_forms(read_header(io.BytesIO(raw)))
    assert forms is None or forms == envelope_forms(mime.parse(raw))


def test_header_block_is_used_for_plain_messages() -> None:
    assert all(header_forms(read_header(io.BytesIO(raw))) for raw in MESSAGES[:4])
