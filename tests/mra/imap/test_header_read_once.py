"""The first SEARCH and the first SORT of never-seen messages read each header block once
for both (issue 22 point 4), on both store backends: whichever comes first fills the
header cache SEARCH scans and the sort fields SORT compares, from the same read.

Reads are counted on every way the store hands out a message's bytes (the folder's
``read_headers``, ``open_message``, ``open``, ``read_bytes``); through a real server, a
message changed behind the store's back after the first SEARCH shows that SORT read
nothing again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.mra.imap.sort import load_keys
from mailtool.mra.imap.store_adapter import StoreUserMail
from tests.mra.imap.conftest import Imap, store_user_mail
from tests.mra.imap.test_envelope_cache import _tamper

SUBJECTS = ["lunch", "Re: lunch", "budget", "travel", "lunch again"]
ALL = [1, 2, 3, 4, 5]


def _message(n: int, subject: str) -> bytes:
    return f"From: b{n}@x.test\r\nSubject: {subject}\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def mail(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest
         ) -> Iterator[StoreUserMail]:  # fmt: skip
    messages = [_message(n, subject) for n, subject in enumerate(SUBJECTS)]
    with store_user_mail(store_backend, tmp_path, request, messages) as user:
        yield user


@pytest.fixture
def reads(mail: StoreUserMail, monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """UID -> times its bytes were read from the store, any way (a read method that calls
    another counts once)."""
    seen: Counter[int] = Counter()
    inside: list[bool] = []
    cls = type(mail.mail.folder("INBOX"))

    def counted(method: Any, uid_of: Any) -> Any:
        def wrapper(self: Any, arg: Any) -> Any:
            if not inside:
                seen[uid_of(arg)] += 1
            inside.append(True)
            try:
                return method(self, arg)
            finally:
                inside.pop()

        return wrapper

    read_headers = cls.read_headers

    def counting_headers(self: Any, infos: Any) -> Iterator[tuple[int, bytes | None]]:
        for info in infos:
            inside.append(True)
            try:
                found = list(read_headers(self, [info]))
            finally:
                inside.pop()
            for uid, header in found:
                seen[uid] += 1
                yield uid, header

    monkeypatch.setattr(cls, "read_headers", counting_headers)
    monkeypatch.setattr(cls, "open_message", counted(cls.open_message, lambda i: i.uid))
    monkeypatch.setattr(cls, "open", counted(cls.open, lambda uid: uid))
    monkeypatch.setattr(cls, "read_bytes", counted(cls.read_bytes, lambda uid: uid))
    return seen


def test_search_first_then_sort_reads_nothing(mail: StoreUserMail, reads: Counter[int]) -> None:
    assert mail.header_search("INBOX", "subject", "lunch", ALL) == {1, 2, 5}
    assert reads == dict.fromkeys(ALL, 1)
    keys = load_keys(mail, "INBOX")
    assert reads == dict.fromkeys(ALL, 1)  # SORT read no header again
    assert [keys[u].subject for u in (1, 2, 3)] == ["lunch", "lunch", "budget"]
    assert keys[2].reply and keys[1].from_mailbox == "b0"
    assert mail.header_search("INBOX", "from", "b4@", ALL) == {5}
    assert reads == dict.fromkeys(ALL, 1)


def test_sort_first_then_search_reads_nothing(mail: StoreUserMail, reads: Counter[int]) -> None:
    keys = load_keys(mail, "INBOX")
    assert reads == dict.fromkeys(ALL, 1) and keys[4].subject == "travel"
    assert mail.header_search("INBOX", "subject", "budget", ALL) == {3}
    assert mail.header_search("INBOX", "from", "b4@", ALL) == {5}
    assert reads == dict.fromkeys(ALL, 1)  # SEARCH read no header again


def test_new_mail_sorted_before_the_next_search_is_read_once(
    mail: StoreUserMail, reads: Counter[int]
) -> None:
    assert mail.header_search("INBOX", "subject", "lunch", ALL) == {1, 2, 5}
    mail.append("INBOX", _message(5, "lunch late"), [], None)
    assert load_keys(mail, "INBOX")[6].subject == "lunch late"
    # this process's SEARCH knew UIDs 1-5 were cached: it asks the index again for 6
    assert mail.header_search("INBOX", "subject", "lunch", [*ALL, 6]) == {1, 2, 5, 6}
    assert reads == dict.fromkeys([*ALL, 6], 1)


def test_server_sort_after_first_search_reads_no_message(imap: Imap) -> None:
    inbox = imap.mail().folder("INBOX")
    for n, subject in enumerate(SUBJECTS):
        inbox.append(_message(n, subject))
    w = imap.wire()
    assert w.cmd("SELECT INBOX").status == "OK"
    assert w.cmd('UID SEARCH SUBJECT "travel"').has(b"* SEARCH 4")
    _tamper(imap, 4, b"Subject: travel", b"Subject: aaaaaa")  # would sort first if read
    assert w.cmd("UID FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").has(b"aaaaaa")
    # the base subjects the first SEARCH's read stored: budget, lunch x3, travel
    assert w.cmd("UID SORT (SUBJECT) UTF-8 ALL").has(b"* SORT 3 1 2 5 4")
    w.close()
