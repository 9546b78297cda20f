"""The first SEARCH and the first SORT of never-seen messages read each header block once
for both (issue 22 point 4): whichever comes first fills the header cache SEARCH scans
and the sort fields SORT compares, from the same read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.mra.imap.sort import load_keys
from mailtool.mra.imap.store_adapter import StoreUserMail
from mailtool.store.mailbase import FolderBase
from mailtool.store.mailstore import MailStore

SUBJECTS = ["lunch", "Re: lunch", "budget", "travel", "lunch again"]


@pytest.fixture
def mail(tmp_path: Path) -> StoreUserMail:
    user = StoreUserMail(MailStore(tmp_path), "ann@example.test")
    for n, subject in enumerate(SUBJECTS):
        message = f"From: b{n}@x.test\r\nSubject: {subject}\r\n\r\nbody {n}\r\n".encode()
        user.append("INBOX", message, [], None)
    return user


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """UIDs whose header block was read, in order."""
    seen: list[int] = []
    original = FolderBase.read_headers

    def counting(self: FolderBase, infos: Any) -> Iterator[tuple[int, bytes | None]]:
        for uid, header in original(self, infos):
            seen.append(uid)
            yield uid, header

    monkeypatch.setattr(FolderBase, "read_headers", counting)
    return seen


def test_search_first_then_sort_reads_nothing(mail: StoreUserMail, reads: list[int]) -> None:
    assert mail.header_search("INBOX", "subject", "lunch", [1, 2, 3, 4, 5]) == {1, 2, 5}
    assert sorted(reads) == [1, 2, 3, 4, 5]
    keys = load_keys(mail, "INBOX")
    assert sorted(reads) == [1, 2, 3, 4, 5]  # SORT read no header again
    assert [keys[u].subject for u in (1, 2, 3)] == ["lunch", "lunch", "budget"]
    assert keys[2].reply and keys[1].from_mailbox == "b0"


def test_sort_first_then_search_reads_nothing(mail: StoreUserMail, reads: list[int]) -> None:
    keys = load_keys(mail, "INBOX")
    assert sorted(reads) == [1, 2, 3, 4, 5] and keys[4].subject == "travel"
    assert mail.header_search("INBOX", "subject", "budget", [1, 2, 3, 4, 5]) == {3}
    assert mail.header_search("INBOX", "from", "b4@", [1, 2, 3, 4, 5]) == {5}
    assert sorted(reads) == [1, 2, 3, 4, 5]  # SEARCH read no header again
