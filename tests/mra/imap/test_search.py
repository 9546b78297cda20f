"""SEARCH / UID SEARCH with every RFC 9051 key, ESEARCH return options, SEARCHRES
(SAVE and $), CONDSTORE MODSEQ, CHARSET."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.harness import MailtoolServer
from tests.mra.imap.conftest import Imap, add_user
from tests.mra.imap.wireclient import Wire

DAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def mk(subject: str, frm: str, to: str, body: str, date: str, extra: str = "") -> bytes:
    return (
        f"From: {frm}\r\nTo: {to}\r\nCc: carol@example.test\r\nSubject: {subject}\r\n"
        f"Date: {date}\r\n{extra}\r\n{body}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def w(shared_server: MailtoolServer) -> Wire:
    """One read-only mailbox for every search (searches change nothing)."""
    add_user(shared_server, "searcher@example.test")
    imap = Imap(shared_server, "searcher@example.test")
    inbox = imap.mail().folder("INBOX")
    inbox.append(
        mk(
            "Lunch plans",
            "ann@example.test",
            "bob@example.test",
            "Pizza at noon?",
            "Mon, 9 Mar 2026 10:00:00 +0000",
            "X-Priority: 1\r\n",
        ),
        flags=["\\Seen"],
        internal_date=(DAY - dt.timedelta(days=1)).timestamp(),
    )
    inbox.append(
        mk(
            "=?utf-8?q?Caf=C3=A9?= order",
            "dan@example.test",
            "bob@example.test",
            "Deux cafés, s'il vous plaît",
            "Tue, 10 Mar 2026 10:00:00 +0000",
        ),
        flags=["\\Flagged", "$Work"],
        internal_date=DAY.timestamp(),
    )
    inbox.append(mk("Report", "ann@example.test", "eve@example.test", "x" * 3000,
                    "Wed, 11 Mar 2026 10:00:00 +0000"),
                 flags=["\\Answered", "\\Deleted", "\\Draft"],
                 internal_date=(DAY + dt.timedelta(days=1)).timestamp())  # fmt: skip
    wire = imap.wire()
    assert wire.cmd("SELECT INBOX").status == "OK"
    return wire


CASES = [
    ("ALL", "1 2 3"), ("SEEN", "1"), ("UNSEEN", "2 3"), ("FLAGGED", "2"), ("UNFLAGGED", "1 3"),
    ("ANSWERED", "3"), ("UNANSWERED", "1 2"), ("DELETED", "3"), ("UNDELETED", "1 2"),
    ("DRAFT", "3"), ("UNDRAFT", "1 2"), ("KEYWORD $Work", "2"), ("UNKEYWORD $Work", "1 3"),
    ("NEW", "2 3"), ("OLD", ""), ("RECENT", "1 2 3"),  # the SELECT took \Recent
    ("FROM ann", "1 3"), ("TO eve", "3"), ("CC carol", "1 2 3"), ("BCC carol", ""),
    ('SUBJECT "café"', "2"), ("SUBJECT LUNCH", "1"), ("BODY pizza", "1"), ('BODY "cafés"', "2"),
    ("TEXT X-Priority", "1"), ("TEXT noon", "1"), ('HEADER X-Priority ""', "1"),
    ("HEADER Subject report", "3"),
    ("BEFORE 10-Mar-2026", "1"), ("ON 10-Mar-2026", "2"), ("SINCE 10-Mar-2026", "2 3"),
    ("SENTBEFORE 10-Mar-2026", "1"), ("SENTON 10-Mar-2026", "2"), ("SENTSINCE 11-Mar-2026", "3"),
    ("LARGER 1000", "3"), ("SMALLER 1000", "1 2"), ("UID 2:*", "2 3"), ("2,3", "2 3"),
    ("NOT SEEN", "2 3"), ("OR SEEN FLAGGED", "1 2"), ("(FROM ann SEEN)", "1"),
    ("UNSEEN NOT DELETED", "2"), ("MODSEQ 1", "1 2 3"),
]  # fmt: skip


@pytest.mark.parametrize(("criteria", "expected"), CASES)
def test_search_key(w: Wire, criteria: str, expected: str) -> None:
    reply = w.cmd(f"SEARCH CHARSET UTF-8 {criteria}".encode())
    line = reply.lines(b"* SEARCH")[0].decode().strip()  # after any OK [HIGHESTMODSEQ]
    assert reply.status == "OK"
    numbers = line.removeprefix("* SEARCH").split("(MODSEQ")[0].split()
    assert " ".join(numbers) == expected


def test_esearch_and_searchres(w: Wire) -> None:
    reply = w.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED")
    tag = reply.tagged.split()[0].decode()
    assert reply.untagged == [
        f'* ESEARCH (TAG "{tag}") UID MIN 1 MAX 2 ALL 1:2 COUNT 2\r\n'.encode()
    ]
    reply = w.cmd("SEARCH RETURN () FLAGGED")
    assert reply.untagged[0].endswith(b'") ALL 2\r\n')
    reply = w.cmd("SEARCH RETURN (COUNT) KEYWORD $Nothing")
    assert reply.untagged[0].endswith(b'") COUNT 0\r\n')
    reply = w.cmd("SEARCH RETURN (SAVE) FROM ann")
    assert reply.status == "OK" and not reply.untagged
    reply = w.cmd("UID FETCH $ (FLAGS)")
    assert [line[:16] for line in reply.untagged] == [b"* 1 FETCH (UID 1", b"* 3 FETCH (UID 3"]
    reply = w.cmd("SEARCH $ SEEN")
    assert reply.untagged == [b"* SEARCH 1\r\n"]


def test_search_modseq_and_charset(w: Wire) -> None:
    reply = w.cmd("SEARCH MODSEQ 1")
    assert reply.untagged[0].startswith(b"* SEARCH 1 2 3 (MODSEQ ")
    reply = w.cmd("SEARCH CHARSET KOI8-R ALL")
    assert reply.tagged.endswith(b"NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n")


def test_rev2_search_answers_esearch(shared_server: MailtoolServer, w: Wire) -> None:
    w = Imap(shared_server, "searcher@example.test").wire()
    w.cmd("ENABLE IMAP4rev2")
    w.cmd("EXAMINE INBOX")
    reply = w.cmd("SEARCH SEEN")
    assert reply.untagged[0].startswith(b'* ESEARCH (TAG "')


def test_header_search_sees_mail_that_arrived_after_the_first_search(
    shared_server: MailtoolServer,
) -> None:
    """The index's header cache is filled by the first header search; messages that
    arrive later are found by the next one, in every position of the program."""
    add_user(shared_server, "cachegrow@example.test")
    imap = Imap(shared_server, "cachegrow@example.test")
    inbox = imap.mail().folder("INBOX")
    inbox.append(mk("alpha one", "ann@example.test", "bob@example.test", "x", "Mon, 9 Mar 2026"))
    wire = imap.wire()
    assert wire.cmd("SELECT INBOX").status == "OK"
    assert wire.cmd("UID SEARCH SUBJECT alpha").untagged == [b"* SEARCH 1\r\n"]
    inbox.append(mk("ALPHA two", "dan@example.test", "eve@example.test", "y", "Mon, 9 Mar 2026"))
    inbox.append(mk("beta", "ann@example.test", "a@x.test, b@x.test", "z", "Mon, 9 Mar 2026"))
    assert wire.cmd("NOOP").status == "OK"
    assert wire.cmd("UID SEARCH SUBJECT alpha").untagged == [b"* SEARCH 1 2\r\n"]
    assert wire.cmd("UID SEARCH OR SUBJECT beta FROM dan").untagged == [b"* SEARCH 2 3\r\n"]
    assert wire.cmd("UID SEARCH NOT SUBJECT alpha").untagged == [b"* SEARCH 3\r\n"]
    assert wire.cmd("UID SEARCH SUBJECT alpha FROM ann").untagged == [b"* SEARCH 1\r\n"]
    assert wire.cmd("UID SEARCH SUBJECT alpha 2").untagged == [b"* SEARCH 2\r\n"]
    assert wire.cmd('UID SEARCH HEADER Bcc ""').untagged == [b"* SEARCH\r\n"]
    assert wire.cmd("UID SEARCH TO b@x").untagged == [b"* SEARCH 3\r\n"]
