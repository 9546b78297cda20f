"""The index's ENVELOPE cache (FETCH ENVELOPE without opening a file), on both backends:
rows only for indexed messages, the form each kind of client gets, one query for many
UIDs, no row left behind by an expunge or a deleted folder."""

from __future__ import annotations

from typing import Any

import pytest

MSG = b"From: a@b.test\r\nSubject: hello\r\n\r\nbody\r\n"


@pytest.fixture
def mail(open_mail_store: Any) -> Any:
    mail = open_mail_store().user("alice@a.test")
    inbox = mail.folder("INBOX")
    for _ in range(5):
        inbox.append(MSG)
    return mail


def rows(*uids: int) -> list[tuple[int, bytes, bytes | None]]:
    """UID 2 has a form of its own for clients without UTF8=ACCEPT."""
    return [(u, b"(utf8 %d)" % u, b"(ascii %d)" % u if u == 2 else None) for u in uids]


def test_rows_of_indexed_messages_only(mail: Any) -> None:
    mail.index.put_envelopes("INBOX", rows(1, 2, 3, 99))  # 99: no such message
    assert mail.index.envelopes("INBOX", [1, 2, 3, 4, 99], utf8=True) == {
        1: b"(utf8 1)",
        2: b"(utf8 2)",
        3: b"(utf8 3)",
    }
    assert mail.index.envelopes("INBOX", [1, 2], utf8=False) == {1: b"(utf8 1)", 2: b"(ascii 2)"}
    mail.index.put_envelopes("INBOX", [(1, b"(new)", None)])  # a rewrite replaces
    assert mail.index.envelopes("INBOX", [1], utf8=True) == {1: b"(new)"}
    assert mail.index.envelopes("INBOX", [], utf8=True) == {}
    assert mail.index.envelopes("Nope", [1], utf8=True) == {}


def test_many_uids_in_one_query(mail: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the by-UID limit the folder's rows are read and filtered: the same answer."""
    import mailtool.store.index
    import mailtool.store.pg.mailindex

    mail.index.put_envelopes("INBOX", rows(1, 2, 3, 4, 5))
    monkeypatch.setattr(mailtool.store.index, "_VARS_PER_QUERY", 2)
    monkeypatch.setattr(mailtool.store.pg.mailindex, "ENVELOPES_BY_UID", 2)
    assert mail.index.envelopes("INBOX", [1, 2, 5], utf8=False) == {
        1: b"(utf8 1)",
        2: b"(ascii 2)",
        5: b"(utf8 5)",
    }


def test_expunge_and_folder_delete_take_the_rows(mail: Any) -> None:
    inbox = mail.folder("INBOX")
    mail.index.put_envelopes("INBOX", rows(1, 2, 3, 4, 5))
    inbox.store([2, 4], ["\\Deleted"], "add")
    assert sorted(inbox.expunge()) == [2, 4]
    assert sorted(mail.index.envelopes("INBOX", [1, 2, 3, 4, 5], utf8=True)) == [1, 3, 5]
    mail.create_folder("Work")
    work = mail.folder("Work")
    work.append(MSG)
    mail.index.put_envelopes("Work", rows(1))
    mail.delete_folder("Work")
    mail.create_folder("Work")
    mail.folder("Work").append(MSG)  # UID 1 of a new UIDVALIDITY
    assert mail.index.envelopes("Work", [1], utf8=True) == {}
