"""A first SEARCH of never-seen messages matches the header blocks it read and answers;
the index's rows are made from the same blocks afterwards, by one background thread per
process bounded in the bytes it holds (mailtool.mra.imap.header_fill), on both backends.

What the direct match answers is what the index's scan answers once the rows exist; no
command reads the caches while a fill of its folder is pending; past the bound the rows
are made inline; a fill that fails is made again by the next search."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.mra.imap import header_fill, headers
from mailtool.mra.imap.header_fill import Filler, header_matches
from mailtool.mra.imap.sort import load_keys
from mailtool.mra.imap.store_adapter import StoreUserMail
from mailtool.store.interfaces import HEADER_FIELDS
from tests.mra.imap.conftest import store_user_mail
from tests.mra.imap.test_header_split import ODD, _blocks

#: header blocks of odd shapes, each followed by a body
BLOCKS = [
    b"Subject: Lunch\r\n  plans\r\nFrom: Bob <bob@x.test>\r\n\r\n",
    b"Subject: one\r\nno colon here\r\nSubject: two\r\nTo: t@x.test\r\n\r\n",
    b"subject: =?utf-8?q?Caf=C3=A9_au_lait?=\r\nCC: c@x.test\r\n\r\n",
    b"From: a@x.test\r\nTo: b@y.test\r\n\r\n",  # no Subject at all
    b"Subject:\r\nBcc: hidden@x.test\r\n\r\n",  # an empty Subject
    b"Subject : spaced name\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\n",
    b"Subject: caf\xe9 raw 8-bit\r\nFrom: =?iso-8859-1?q?Andr=E9?= <a@x.test>\r\n\r\n",
]
SEARCHES = [
    ("subject", "lunch"), ("subject", "plans"), ("subject", "two"), ("subject", "café"),
    ("subject", ""), ("subject", "spaced"), ("from", "bob"), ("from", "andré"),
    ("to", "@y.test"), ("cc", "c@x"), ("bcc", "hidden"), ("date", "2026"),
    ("subject", "one\nsubject"), ("subject", "here\ntwo"),
]  # fmt: skip
UIDS = list(range(1, len(BLOCKS) + 1))


@pytest.fixture
def mail(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest
         ) -> Iterator[StoreUserMail]:  # fmt: skip
    with store_user_mail(store_backend, tmp_path, request, [b + b"body\r\n" for b in BLOCKS]
                         ) as user:  # fmt: skip
        yield user
        header_fill.FILLER.settle((user.user, "INBOX"))


@pytest.fixture
def filler(monkeypatch: pytest.MonkeyPatch) -> Filler:
    """A filler of the test's own, so no other test's jobs are waited for."""
    mine = Filler()
    monkeypatch.setattr(header_fill, "FILLER", mine)
    return mine


@pytest.mark.parametrize("block", [*_blocks(), *BLOCKS], ids=range(len(_blocks()) + len(BLOCKS)))
def test_one_field_gives_what_the_general_splitter_gives(
    block: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = [headers.field_values(block, name) for name in HEADER_FIELDS]
    monkeypatch.setattr(headers, "split_fields", lambda header: None)
    every = headers.decoded_fields(block, HEADER_FIELDS)
    assert fast == [every.get(name, ()) for name in HEADER_FIELDS]


def test_the_direct_match_answers_what_the_index_answers(
    mail: StoreUserMail, filler: Filler, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_rows = StoreUserMail._store_header_rows
    monkeypatch.setattr(StoreUserMail, "_store_header_rows", lambda *a: None)  # no rows yet
    direct = {(f, n): mail.header_search("INBOX", f, n, UIDS) for f, n in SEARCHES}
    filler.settle((mail.user, "INBOX"))
    assert mail.mail.index.header_cached_uids("INBOX") == []  # each answer read the blocks
    monkeypatch.setattr(StoreUserMail, "_store_header_rows", make_rows)
    mail.header_search("INBOX", "subject", "x", UIDS)
    filler.settle((mail.user, "INBOX"))
    assert sorted(mail.mail.index.header_cached_uids("INBOX")) == UIDS
    scanned = {(f, n): mail.header_search("INBOX", f, n, UIDS) for f, n in SEARCHES}
    assert direct == scanned
    assert scanned[("subject", "lunch")] == {1} and scanned[("subject", "café")] == {3}
    assert scanned[("subject", "")] == {1, 2, 3, 5, 6, 7}  # every message with a Subject
    assert scanned[("subject", "here\ntwo")] == set()  # the joins of two Subjects: no match
    assert scanned[("from", "andré")] == {7}


def test_a_gone_message_matches_nothing() -> None:
    assert not header_matches(None, "subject", "")
    assert header_matches(ODD[0], "SUBJECT", "folded")  # the name in any case


def test_the_search_answers_before_the_rows_are_made_and_readers_wait_for_them(
    mail: StoreUserMail, filler: Filler, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = threading.Event()
    make_rows = StoreUserMail._store_header_rows

    def held(self: StoreUserMail, *args: Any) -> None:
        assert go.wait(30)
        make_rows(self, *args)

    monkeypatch.setattr(StoreUserMail, "_store_header_rows", held)
    assert mail.header_search("INBOX", "subject", "lunch", UIDS) == {1}  # rows not made yet
    assert mail.mail.index.header_cached_uids("INBOX") == []
    assert filler.pending_bytes > 0
    answers: dict[str, Any] = {}
    readers = [
        threading.Thread(target=lambda: answers.update(
            search=mail.header_search("INBOX", "from", "bob", UIDS))),
        threading.Thread(target=lambda: answers.update(sort=load_keys(mail, "INBOX"))),
    ]  # fmt: skip
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(0.3)
    assert answers == {}, "a reader went on while its folder's rows were being made"
    go.set()
    for reader in readers:
        reader.join(30)
    assert answers["search"] == {1}
    assert answers["sort"][3].subject == "Café au lait"
    assert sorted(mail.mail.index.header_cached_uids("INBOX")) == UIDS
    assert filler.pending_bytes == 0


def test_past_the_bound_the_rows_are_made_before_the_answer(
    mail: StoreUserMail, monkeypatch: pytest.MonkeyPatch
) -> None:
    tight = Filler(limit=100)  # less than the blocks of one batch
    monkeypatch.setattr(header_fill, "FILLER", tight)
    assert mail.header_search("INBOX", "to", "b@y", UIDS) == {4}
    assert sorted(mail.mail.index.header_cached_uids("INBOX")) == UIDS
    assert tight.pending_bytes == 0 and not tight.reserve(101)


def test_a_failed_fill_is_made_again_by_the_next_search(
    mail: StoreUserMail, filler: Filler, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    make_rows = StoreUserMail._store_header_rows
    monkeypatch.setattr(StoreUserMail, "_store_header_rows", lambda *a: 1 / 0)
    assert mail.header_search("INBOX", "subject", "two", UIDS) == {2}
    filler.settle((mail.user, "INBOX"))
    assert "filling the header cache failed" in caplog.text
    assert mail.mail.index.header_cached_uids("INBOX") == []
    monkeypatch.setattr(StoreUserMail, "_store_header_rows", make_rows)
    assert mail.header_search("INBOX", "subject", "two", UIDS) == {2}
    filler.settle((mail.user, "INBOX"))
    assert sorted(mail.mail.index.header_cached_uids("INBOX")) == UIDS
    assert filler.pending_bytes == 0


def test_a_fill_that_cannot_start_gives_its_room_back() -> None:
    """The interpreter ending (the pool refuses work): no job runs, no room stays held."""
    filler = Filler(limit=1000)
    assert filler.reserve(600)
    filler.start(("ann", "INBOX"), 600, lambda: None)  # makes the pool
    filler.settle(("ann", "INBOX"))
    assert filler._pool is not None
    filler._pool.shutdown()
    assert filler.reserve(600)
    ran: list[bool] = []
    filler.start(("ann", "INBOX"), 600, lambda: ran.append(True))
    filler.settle(("ann", "INBOX"))
    assert ran == [] and filler.pending_bytes == 0
