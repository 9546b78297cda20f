"""Files another program dropped into new/ (procmail, another MDA): the first SELECT reads
none of them, nor stats them (mailtool.store.index.UNSIZED and UNDATED), the first command
that needs a size counts them, the first that needs a date stats them, and every size a
client sees is that of the CRLF form IMAP sends, with or without ``,S=`` in the file's
name, with LF or CRLF line ends; every date the file's mtime."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from mailtool.store.accounts import Quota
from mailtool.store.index import UNDATED, UNSIZED
from tests.mra.imap.conftest import Imap, store_user_mail


def _body(lines: int, end: bytes) -> bytes:
    return b"From: a@example.test" + end + b"Subject: dropped" + end + end + (
        b"line of text" + end
    ) * lines


LF, CRLF = b"\n", b"\r\n"
#: (file name, bytes on disk): LF with ,S=<size on disk>, LF without, CRLF with ,S=
DROPPED = [
    (f"1700000001.M1P1.drop,S={len(_body(300, LF))}", _body(300, LF)),
    ("1700000002.M2P1.drop", _body(200, LF)),
    (f"1700000003.M3P1.drop,S={len(_body(100, CRLF))}", _body(100, CRLF)),
]
#: what IMAP sends of each, in UID order (the sync indexes them in name order)
WIRE = [data.replace(CRLF, LF).replace(LF, CRLF) for _, data in DROPPED]


#: the files' mtimes, as DROPPED: the internal dates IMAP shows (none in name order)
MTIMES = [1_600_000_000.0, 1_500_000_000.0, 1_650_000_000.0]
#: what INTERNALDATE shows of each
SHOWN = ["13-Sep-2020 12:26:40 +0000", "14-Jul-2017 02:40:00 +0000", "15-Apr-2022 05:20:00 +0000"]


def _drop(imap: Imap) -> None:
    if imap.backend != "sqlite":
        pytest.skip("files dropped into a Maildir: the SQLite + Maildir store only")
    new = imap.mail().maildir.root / "new"
    for (name, data), mtime in zip(DROPPED, MTIMES, strict=True):
        (new / name).write_bytes(data)
        os.utime(new / name, (mtime, mtime))


def _sizes(reply_lines: list[bytes]) -> list[int]:
    return [int(re.search(rb"RFC822\.SIZE (\d+)", line)[1]) for line in reply_lines]  # type: ignore[index]


def test_first_select_reads_no_dropped_file_and_fetch_counts_their_sizes(imap: Imap) -> None:
    _drop(imap)
    w = imap.wire()
    assert w.cmd("SELECT INBOX").has(b"* 3 EXISTS")
    assert w.cmd("UID FETCH 1:* (FLAGS)").status == "OK"
    index = imap.mail().index
    assert [m.size for m in index.summaries("INBOX")] == [UNSIZED] * 3  # none read yet
    assert [m.internal_date for m in index.summaries("INBOX")] == [UNDATED] * 3  # no stat
    assert _sizes(w.cmd("UID FETCH 1:* (RFC822.SIZE)").untagged) == [len(m) for m in WIRE]
    assert [m.size for m in index.summaries("INBOX")] == [len(m) for m in WIRE]  # kept
    assert [m.internal_date for m in index.summaries("INBOX")] == MTIMES  # read with them
    other = imap.wire()  # the cached listing, sizes counted since
    other.cmd("EXAMINE INBOX")
    assert _sizes(other.cmd("FETCH 1:* FAST").untagged) == [len(m) for m in WIRE]


def test_body_of_a_dropped_lf_file_is_its_crlf_form(imap: Imap) -> None:
    _drop(imap)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    for uid, data in enumerate(WIRE, 1):
        [line] = w.cmd(f"UID FETCH {uid} (BODY.PEEK[])").lines(b"* ")
        assert f"BODY[] {{{len(data)}}}\r\n".encode() + data in line


def test_search_and_sort_by_size_of_dropped_files(imap: Imap) -> None:
    _drop(imap)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    # the LF files' sizes on disk are below these bounds, their CRLF sizes above
    assert w.cmd(f"UID SEARCH LARGER {len(WIRE[1]) - 1}").lines(b"* SEARCH") == [
        b"* SEARCH 1 2\r\n"
    ]
    assert w.cmd(f"UID SEARCH SMALLER {len(WIRE[1])}").lines(b"* SEARCH") == [b"* SEARCH 3\r\n"]
    assert w.cmd("UID SORT (SIZE) UTF-8 ALL").lines(b"* SORT") == [b"* SORT 3 2 1\r\n"]


def test_status_size_and_quota_count_dropped_files_in_crlf_form(imap: Imap) -> None:
    imap.accounts.set_quota(imap.user, Quota(storage_bytes=10 * 1024 * 1024, messages=100))
    _drop(imap)
    total = sum(len(m) for m in WIRE)
    assert total // 1024 > sum(len(d) for _, d in DROPPED) // 1024  # LF would be less
    w = imap.wire()
    assert w.cmd("STATUS INBOX (MESSAGES SIZE)").untagged == [
        f"* STATUS INBOX (MESSAGES 3 SIZE {total})\r\n".encode()
    ]
    reply = w.cmd("GETQUOTA \"\"")
    assert reply.untagged == [f'* QUOTA "" (STORAGE {(total + 1023) // 1024} 10240 MESSAGE 3 100)'
                              "\r\n".encode()]  # fmt: skip


def test_a_header_search_and_sort_read_no_file_for_its_size(imap: Imap) -> None:
    """SEARCH SUBJECT and SORT by date read each dropped file's header block and count no
    size (a count first would read every file twice); SORT SIZE then counts them."""
    _drop(imap)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    index = imap.mail().index
    assert w.cmd("UID SEARCH SUBJECT dropped").has(b"* SEARCH 1 2 3")
    assert w.cmd("UID SORT (DATE) UTF-8 NOT SUBJECT nothing").has(b"* SORT 2 1 3")  # mtimes
    assert w.cmd("UID THREAD REFERENCES UTF-8 ALL").status == "OK"
    assert [m.size for m in index.summaries("INBOX")] == [UNSIZED] * 3
    by_size = sorted(range(3), key=lambda i: len(WIRE[i]))
    assert w.cmd("UID SORT (SIZE) UTF-8 ALL").has(
        b"* SORT " + b" ".join(b"%d" % (i + 1) for i in by_size)
    )
    assert [m.size for m in index.summaries("INBOX")] == [len(m) for m in WIRE]


def _dates(reply_lines: list[bytes]) -> list[str]:
    return [re.search(rb'INTERNALDATE "([^"]+)"', line)[1].decode() for line in reply_lines]  # type: ignore[index]


def test_dates_of_dropped_files_are_their_mtimes_read_without_counting_sizes(imap: Imap) -> None:
    """INTERNALDATE and the SEARCH keys of the internal date stat the dropped files (no
    read: their sizes stay uncounted); the view and the index agree afterwards."""
    _drop(imap)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    index = imap.mail().index
    assert _dates(w.cmd("UID FETCH 1:* (INTERNALDATE)").untagged) == SHOWN
    assert [(m.size, m.internal_date) for m in index.summaries("INBOX")] == [
        (UNSIZED, t) for t in MTIMES
    ]
    assert w.cmd("UID SEARCH SINCE 1-Jan-2020").has(b"* SEARCH 1 3")
    assert w.cmd("UID SEARCH BEFORE 1-Jan-2020").has(b"* SEARCH 2")
    assert w.cmd("UID SEARCH ON 15-Apr-2022").has(b"* SEARCH 3")
    assert w.cmd("UID SORT (ARRIVAL) UTF-8 ALL").has(b"* SORT 2 1 3")
    # sizes after dates: counted then, the dates kept
    got = w.cmd("UID FETCH 1:* (INTERNALDATE RFC822.SIZE)").untagged
    assert _sizes(got) == [len(m) for m in WIRE] and _dates(got) == SHOWN


@pytest.mark.parametrize(
    ("command", "answer"),
    [("UID SEARCH SINCE 1-Jan-2020", b"* SEARCH 1 3"),
     ("UID SORT (ARRIVAL) UTF-8 ALL", b"* SORT 2 1 3"),
     ("UID SORT (DATE) UTF-8 ALL", b"* SORT 2 1 3"),
     ("UID SEARCH YOUNGER {age}", b"* SEARCH 1 3"),
     ("UID SEARCH OLDER {age}", b"* SEARCH 2"),
     ("THREAD ORDEREDSUBJECT UTF-8 ALL", b"* THREAD (2 (1)(3))")],
)  # fmt: skip
def test_a_first_date_key_reads_the_dates_it_compares(
    imap: Imap, command: str, answer: bytes
) -> None:
    """Each command that compares internal dates, first after the SELECT, compares the
    files' mtimes (SORT DATE and THREAD: the internal date of a message without Date:)."""
    _drop(imap)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    age = int(time.time() - 1_550_000_000)  # early 2019: between the oldest and the others
    reply = w.cmd(command.format(age=age))
    assert reply.status == "OK" and reply.untagged == [answer + b"\r\n"]


def test_a_dropped_file_with_its_size_in_its_name_is_dated_by_a_stat(imap: Imap) -> None:
    """Dovecot's ``,W=<size>`` names give the size: nothing is read, the date is a stat."""
    if imap.backend != "sqlite":
        pytest.skip("files dropped into a Maildir: the SQLite + Maildir store only")
    path = imap.mail().maildir.root / "new" / "1700000009.M9P1.drop,S=10,W=12"
    path.write_bytes(b"X: y\n\nbody\n")  # 10 bytes, the name's W= is taken as it is
    os.utime(path, (MTIMES[0], MTIMES[0]))
    w = imap.wire()
    w.cmd("SELECT INBOX")
    index = imap.mail().index
    assert [(m.size, m.internal_date) for m in index.summaries("INBOX")] == [(12, UNDATED)]
    got = w.cmd("UID FETCH 1 (RFC822.SIZE INTERNALDATE)").untagged
    assert _sizes(got) == [12] and _dates(got) == SHOWN[:1]


def test_a_later_select_gets_the_counted_sizes_and_dates(
    store_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The listing kept for the next SELECT is not handed out with what a session has
    counted since still uncounted (each session would count the folder again)."""
    if store_backend != "sqlite":
        pytest.skip("files dropped into a Maildir: the SQLite + Maildir store only")
    with store_user_mail(store_backend, tmp_path, request, []) as user:
        new = user.mail.maildir.root / "new"
        for (name, data), mtime in zip(DROPPED, MTIMES, strict=True):
            (new / name).write_bytes(data)
            os.utime(new / name, (mtime, mtime))
        first = user.snapshot("INBOX")
        assert first.unsized == first.undated == (1, 2, 3)
        assert user.count("INBOX", [1, 2, 3], sizes=False) == {
            uid: (UNSIZED, t) for uid, t in zip((1, 2, 3), MTIMES, strict=True)
        }
        dated = user.snapshot("INBOX")
        assert (dated.unsized, dated.undated) == ((1, 2, 3), ())
        user.count("INBOX", [1, 2, 3], sizes=True)
        counted = user.snapshot("INBOX")
        assert (counted.unsized, counted.undated) == ((), ())
        assert [(m.size, m.internal_date) for m in counted.messages] == [
            (len(w), t) for w, t in zip(WIRE, MTIMES, strict=True)
        ]
