"""SORT / UID SORT and THREAD / UID THREAD (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO):
hand-checked answers on small mailboxes, sort keys kept in the index (no message
file read again), and the same answers as Dovecot for a generated corpus."""

from __future__ import annotations

import imaplib
import random
import re
from collections.abc import Iterator

import pytest

from mailtool.protocol.imap import parse_response
from mailtool.protocol.imap.responses import SortResult, ThreadResult
from mailtool.protocol.imap.sort import ThreadNode
from mailtool.protocol.imap.thread_algorithms import ordered_subject, references
from mailtool.store.index import INDEX_FILE, Index
from tests.harness import MailtoolServer
from tests.mra.imap.conftest import PASSWORD, Imap, add_user, client_tls
from tests.mra.imap.wireclient import Wire
from tests.peers.dovecot import Dovecot


def mk(subject: str, frm: str, date: str | None, *, to: str = "alice@example.test",
       cc: str | None = None, msgid: str | None = None, refs: str | None = None,
       irt: str | None = None, body: str = "hello") -> bytes:
    head = [f"From: {frm}", f"To: {to}", f"Subject: {subject}"]
    if cc:
        head.append(f"Cc: {cc}")
    if date:
        head.append(f"Date: {date}")
    if msgid:
        head.append(f"Message-ID: {msgid}")
    if refs:
        head.append(f"References: {refs}")
    if irt:
        head.append(f"In-Reply-To: {irt}")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


#: (message, internal date): a mailbox where every key gives another order
SMALL = [
    (mk("Re: Lunch", "Zed <aaron@z.test>", "Tue, 03 Mar 2026 10:00:00 +0000",
        to="Yan <yan@x.test>", cc="carl@c.test", msgid="<2@t>", refs="<1@t>",
        body="x" * 500), 1_000_003),
    (mk("Lunch", "Ann <zoe@a.test>", "Mon, 02 Mar 2026 10:00:00 +0000",
        to="bob@x.test", cc="abe@c.test", msgid="<1@t>", body="x" * 100), 1_000_001),
    (mk("[list] budget", "=?utf-8?q?=C3=89mile?= <mike@m.test>", None,
        to="Al <zack@x.test>", msgid="<3@t>", body="x" * 900), 1_000_000),
    (mk("Fwd: Lunch", "bert@b.test", "Mon, 02 Mar 2026 09:00:00 -0300",
        to="cid@x.test", msgid="<4@t>", irt="<1@t>", body="x" * 10), 1_000_002),
]  # fmt: skip


def fill(imap: Imap, messages: list[tuple[bytes, float]]) -> None:
    inbox = imap.mail().folder("INBOX")
    for raw, when in messages:
        inbox.append(raw, internal_date=when)


def numbers(reply: object) -> list[int]:
    line = reply.lines(b"* SORT")[0]  # type: ignore[attr-defined]
    result = parse_response(line)
    assert isinstance(result, SortResult)
    return list(result.numbers)


def threads(reply: object) -> str:
    line = reply.lines(b"* THREAD")[0]  # type: ignore[attr-defined]
    assert isinstance(parse_response(line), ThreadResult)
    return line[len(b"* THREAD ") :].strip().decode()


@pytest.fixture
def small(imap: Imap) -> Iterator[Wire]:
    fill(imap, SMALL)
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    yield w


def test_capabilities_advertise_sort_and_thread(imap: Imap) -> None:
    w = imap.wire()
    caps = w.cmd("CAPABILITY").lines(b"* CAPABILITY")[0].split()
    for cap in (b"SORT", b"SORT=DISPLAY", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES"):
        assert cap in caps


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("ARRIVAL", [3, 2, 4, 1]),
        ("REVERSE ARRIVAL", [1, 4, 2, 3]),
        # message 3 has no Date: its INTERNALDATE (1970) is its sent date (RFC 5256 §2.2)
        ("DATE", [3, 2, 4, 1]),  # 09:00 -0300 is 12:00 UTC, after 10:00 +0000
        ("REVERSE DATE", [1, 4, 2, 3]),
        ("SIZE", [4, 2, 1, 3]),
        ("FROM", [1, 4, 3, 2]),  # aaron, bert, mike, zoe: the mailbox, not the name
        ("DISPLAYFROM", [2, 4, 1, 3]),  # Ann, bert@b.test, Zed, Émile (É is not ASCII)
        ("TO", [2, 4, 1, 3]),  # bob, cid, yan, zack
        ("DISPLAYTO", [3, 2, 4, 1]),  # Al, bob@x.test, cid@x.test, Yan
        ("CC", [3, 4, 2, 1]),  # "", "", abe, carl: missing sorts first, then by number
        ("SUBJECT", [3, 1, 2, 4]),  # budget, Lunch x3 in mailbox order
        ("SUBJECT REVERSE DATE", [3, 1, 4, 2]),
        ("REVERSE SUBJECT DATE", [2, 4, 1, 3]),
    ],
)
def test_sort_keys(small: Wire, criteria: str, expected: list[int]) -> None:
    reply = small.cmd(f"SORT ({criteria}) UTF-8 ALL")
    assert reply.status == "OK", reply
    assert numbers(reply) == expected


def test_uid_sort_answers_uids_and_takes_a_search_program(small: Wire) -> None:
    assert numbers(small.cmd("UID SORT (ARRIVAL) US-ASCII ALL")) == [3, 2, 4, 1]
    reply = small.cmd("UID SORT (SIZE) US-ASCII SUBJECT lunch")
    assert reply.status == "OK"
    assert numbers(reply) == [4, 2, 1]  # UIDs are 1..4 in a fresh mailbox
    assert numbers(small.cmd("SORT (SIZE) UTF-8 NOT SUBJECT lunch 1:3")) == [3]
    assert numbers(small.cmd("SORT (SIZE) UTF-8 SUBJECT nothing-matches")) == []


def test_sort_with_modseq_answers_the_highest(small: Wire) -> None:
    reply = small.cmd("SORT (DATE) UTF-8 MODSEQ 1")
    line = reply.lines(b"* SORT")[0]
    assert re.search(rb"\(MODSEQ \d+\)", line), line


def test_unknown_charset_and_bad_syntax(small: Wire) -> None:
    reply = small.cmd("SORT (DATE) KOI8-R ALL")
    assert reply.status == "NO"
    assert b"[BADCHARSET" in reply.tagged
    assert small.cmd("SORT (BOGUS) UTF-8 ALL").status == "BAD"
    assert small.cmd("SORT DATE UTF-8 ALL").status == "BAD"
    assert small.cmd("THREAD XREFS UTF-8 ALL").status == "BAD"
    reply = small.cmd("THREAD REFERENCES ISO-2022-JP ALL")
    assert reply.status == "NO" and b"[BADCHARSET" in reply.tagged


def test_sort_needs_a_selected_mailbox(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("SORT (DATE) UTF-8 ALL").status == "BAD"


def test_thread_references(small: Wire) -> None:
    # <1@t> Lunch has replies 1 (References) and 4 (In-Reply-To), in sent-date order
    assert threads(small.cmd("THREAD REFERENCES UTF-8 ALL")) == "(3)(2 (4)(1))"
    assert threads(small.cmd("UID THREAD REFERENCES UTF-8 ALL")) == "(3)(2 (4)(1))"
    assert threads(small.cmd("THREAD REFERENCES UTF-8 1:2")) == "(2 1)"


def test_thread_orderedsubject(small: Wire) -> None:
    assert threads(small.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")) == "(3)(2 (4)(1))"
    assert threads(small.cmd("THREAD ORDEREDSUBJECT UTF-8 SUBJECT budget")) == "(3)"
    reply = small.cmd("THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing-matches")
    assert reply.lines(b"* THREAD") == [b"* THREAD\r\n"]


@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)  # rewrites a Maildir file
def test_sort_keys_are_kept_in_the_index(imap: Imap) -> None:
    """After the first SORT the keys come from the index: rewriting a message file's
    Subject (which no client can do) does not change the order."""
    fill(imap, SMALL)
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    before = numbers(w.cmd("SORT (SUBJECT) UTF-8 ALL"))
    mail = imap.mail()
    index = Index(mail.maildir.root / INDEX_FILE)
    try:
        rows = index.sort_rows("INBOX")
    finally:
        index.close()
    assert len(rows) == 4 and all(r[9] is not None for r in rows)
    inbox = mail.folder("INBOX")
    for info in inbox.messages():
        path = inbox.path / info.path
        path.write_bytes(path.read_bytes().replace(b"Subject: ", b"Subject: AAA "))
    assert numbers(w.cmd("SORT (SUBJECT) UTF-8 ALL")) == before


def test_new_and_expunged_messages_are_sorted_right(small: Wire, imap: Imap) -> None:
    assert numbers(small.cmd("UID SORT (SUBJECT) UTF-8 ALL")) == [3, 1, 2, 4]
    imap.mail().folder("INBOX").append(mk("Aardvark", "x@x.test", None), internal_date=5.0)
    assert small.cmd("NOOP").status == "OK"
    assert numbers(small.cmd("UID SORT (SUBJECT) UTF-8 ALL")) == [5, 3, 1, 2, 4]
    assert small.cmd("UID STORE 3 +FLAGS (\\Deleted)").status == "OK"
    assert small.cmd("EXPUNGE").status == "OK"
    assert numbers(small.cmd("UID SORT (SUBJECT) UTF-8 ALL")) == [5, 1, 2, 4]


# -- the algorithms on their own -----------------------------------------------------


def _keys(uid: int, subject: str, sent: float, mid: str = "", refs: tuple[str, ...] = (),
          reply: bool = False):  # type: ignore[no-untyped-def]
    from mailtool.mra.imap.sort import SortKeys

    return SortKeys(uid, 0, sent, sent, "", "", "", "", "", subject, reply, mid, refs)


def test_references_dummy_root_loops_and_duplicates() -> None:
    items = [
        _keys(1, "a", 10, "<a>", ("<missing>",)),  # parent never seen: a dummy
        _keys(2, "b", 20, "<b>", ("<missing>",)),
        _keys(3, "c", 30, "<c>", ("<d>",)),  # c and d reference each other
        _keys(4, "d", 40, "<d>", ("<c>",)),
        _keys(5, "e", 50, "<c>"),  # a duplicate Message-ID: its own thread
    ]
    out = references(items)
    assert out[0] == ThreadNode(None, (ThreadNode(1), ThreadNode(2)))
    assert sorted(n.numbers() for n in out[1:]) == [[3, 4], [5]] or sorted(
        n.numbers() for n in out[1:]
    ) == [[4, 3], [5]]
    assert sorted(u for n in out for u in n.numbers()) == [1, 2, 3, 4, 5]


def test_references_merges_by_subject() -> None:
    items = [
        _keys(1, "plan", 10, "<p1>"),
        _keys(2, "plan", 20, "<p2>", reply=True),  # "Re: plan" without References
        _keys(3, "plan", 30, "<p3>"),  # another original: a dummy joins them
        _keys(4, "", 40, "<x>"),  # empty subjects are never merged
        _keys(5, "", 50, "<y>"),
    ]
    out = references(items)
    assert [n.numbers() for n in out] == [[1, 2, 3], [4], [5]]
    assert out[0].number is None


def test_orderedsubject_groups() -> None:
    items = [_keys(1, "b", 30), _keys(2, "a", 20), _keys(3, "b", 10), _keys(4, "A", 40)]
    assert ordered_subject(items) == [
        ThreadNode(3, (ThreadNode(1),)),
        ThreadNode(2, (ThreadNode(4),)),
    ]


# -- against Dovecot ------------------------------------------------------------------

NAMES = ["Ann", "bob", "Carol", '"Dan, Jr."', "=?utf-8?q?=C3=89mile?=", ""]
TOPICS = ["Lunch", "Budget 2026", "[list] release", "Hello", "(no subject)", ""]


def corpus(n: int = 60, seed: int = 5) -> list[tuple[bytes, float]]:
    """Messages with replies (References, In-Reply-To, missing parents), Re:/Fwd:/[blob]
    subjects, equal dates, missing Dates, time zones and duplicate Message-IDs."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        topic = rnd.choice(TOPICS)
        subject = rnd.choice(["", "Re: ", "RE: re: ", "Fwd: ", "[list] Re: "]) + topic
        name = rnd.choice(NAMES)
        user = rnd.choice(["zed", "amy", "Kim", "bo"])
        frm = f"{name} <{user}@ex.test>" if name else f"{user}@ex.test"
        day = 1 + rnd.randrange(5)
        tz = rnd.choice(["+0000", "-0500", "+0930"])
        date = None if i % 11 == 7 else f"Mon, {day:02d} Mar 2026 1{rnd.randrange(3)}:00:00 {tz}"
        refs = irt = None
        if i and rnd.random() < 0.5:
            parent = rnd.randrange(i + 3)  # sometimes a message that does not exist
            chain = " ".join(f"<m{p}@ex.test>" for p in range(max(0, parent - 2), parent + 1))
            if rnd.random() < 0.6:
                refs = chain
            else:
                irt = f"<m{parent}@ex.test>"
        msgid = f"<m{i if i % 17 != 16 else i - 1}@ex.test>"
        to = rnd.choice(["Alice <alice@ex.test>", "team@ex.test", "zz@ex.test"])
        cc = rnd.choice([None, "carl@ex.test", "Abe <abe@ex.test>"])
        raw = mk(subject, frm, date, to=to, cc=cc, msgid=msgid, refs=refs, irt=irt,
                 body="x" * rnd.randrange(50, 400, 50))  # fmt: skip
        out.append((raw, 1_700_000_000 + rnd.randrange(4) * 3600))
    return out


COMMANDS = [
    *(f"UID SORT ({k}) UTF-8 ALL" for k in ("ARRIVAL", "DATE", "SIZE", "FROM", "TO", "CC",
                                             "SUBJECT", "DISPLAYTO")),
    "UID SORT (REVERSE DATE) UTF-8 ALL",
    "UID SORT (SUBJECT REVERSE SIZE) UTF-8 ALL",
    "UID SORT (REVERSE ARRIVAL) UTF-8 ALL",
    "SORT (FROM DATE) US-ASCII NOT SUBJECT lunch",
    "UID THREAD REFERENCES UTF-8 ALL",
    "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
    "THREAD REFERENCES US-ASCII SUBJECT lunch",
]  # fmt: skip


def _answers(imap: imaplib.IMAP4, messages: list[tuple[bytes, float]]) -> dict[str, bytes]:
    for raw, when in messages:
        typ, data = imap.append("INBOX", None, imaplib.Time2Internaldate(when), raw)
        assert typ == "OK", data
    imap.select("INBOX")
    out = {}
    for cmd in COMMANDS:
        tag = imap._new_tag()  # type: ignore[attr-defined]
        imap.send(tag + b" " + cmd.encode() + b"\r\n")
        lines = []
        while True:
            line = imap.readline()
            if line.startswith(tag):
                assert b" OK " in line, (cmd, line)
                break
            if line.startswith((b"* SORT", b"* THREAD")):
                lines.append(line.rstrip(b"\r\n"))
        out[cmd] = b"".join(lines)
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, shared_server: MailtoolServer):  # type: ignore[no-untyped-def]
    messages = corpus()
    with Dovecot(tmp_path_factory.mktemp("dovecot"), pop3=False) as dc:
        theirs_client = imaplib.IMAP4("127.0.0.1", dc.imap_port)
        theirs_client.login("alice", "pw")
        theirs = _answers(theirs_client, messages)
        theirs_client.logout()
    add_user(shared_server, "sorter@example.test")
    ours_client = imaplib.IMAP4_SSL(
        "127.0.0.1", shared_server.port("imaps"), ssl_context=client_tls()
    )
    ours_client.login("sorter@example.test", PASSWORD)
    ours = _answers(ours_client, messages)
    ours_client.logout()
    return ours, theirs


@pytest.mark.peer
@pytest.mark.parametrize("cmd", COMMANDS)
def test_answers_equal_dovecot(cmd: str, both) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = both
    assert ours[cmd] == theirs[cmd]


def test_sort_of_a_thousand_messages_is_complete(imap: Imap) -> None:
    fill(imap, [(mk(f"s{i % 97}", f"u{i % 13}@x.test", None), 1000.0 + i) for i in range(1000)])
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    got = numbers(w.cmd("UID SORT (SUBJECT) UTF-8 ALL"))
    assert sorted(got) == list(range(1, 1001))
    assert got[:3] == [1, 98, 195]  # s0 first, in UID order


def test_a_reply_chain_thousands_deep_threads_and_formats() -> None:
    from mailtool.protocol.imap import format_response

    n = 5000
    items = [_keys(i, "chain", float(i), f"<{i}>", (f"<{i - 1}>",) if i > 1 else ())
             for i in range(1, n + 1)]  # fmt: skip
    (tree,) = references(items)
    assert tree.numbers() == list(range(1, n + 1))
    comb = [*items, *(_keys(n + i, "chain", 0.5, f"<x{i}>", (f"<{i}>",)) for i in range(1, n))]
    (tree,) = references(comb)
    wire = format_response(ThreadResult((tree,)))
    assert wire.startswith(b"* THREAD (1 (") and wire.count(b"(") == 2 * (n - 1) + 1


def test_eight_bit_headers_sort(imap: Imap) -> None:
    """Latin-1 bytes in a header (not UTF-8: RFC 6532 allows no other) sort, they do
    not break the index."""
    fill(imap, [(b"From: J\xf6rg <j@x.test>\r\nSubject: caf\xe9\r\n\r\nx\r\n", 1.0),
                (b"From: Ann <a@x.test>\r\nSubject: =?bogus?q?b=FF?=\r\n\r\nx\r\n", 2.0)])
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    assert numbers(w.cmd("SORT (DISPLAYFROM) UTF-8 ALL")) == [2, 1]
    assert numbers(w.cmd("SORT (SUBJECT) UTF-8 ALL")) == [2, 1]
