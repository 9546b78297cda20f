"""A sync that indexes many dropped files at once (the first SELECT after 100,000 files
appeared in new/): batched lookups and inserts give what one row at a time gave."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mailtool.store.index import _VARS_PER_QUERY, UNSIZED, Index, NewMessage
from mailtool.store.mailstore import MailStore, _crlf_size_of, crlf_size


@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n"]), max_size=40), st.integers(1, 5))
def test_file_size_in_crlf_form_read_in_pieces(tmp_path_factory, parts, chunk) -> None:  # type: ignore[no-untyped-def]
    data = b"".join(parts)
    path = tmp_path_factory.mktemp("f") / "m"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _crlf_size_of(fd, len(data), chunk) == crlf_size(data)
    finally:
        os.close(fd)


def test_many_dropped_files_get_uids_in_name_order_once(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    user = store.user("ann@example.test", create=True)
    inbox = user.folder("INBOX")
    delivered = inbox.append(b"Subject: first\r\n\r\nx\r\n", [], None)
    new = Path(user.maildir.root) / "new"
    count = _VARS_PER_QUERY * 2 + 7  # more than one batch of lookups
    for n in range(count):
        body = b"Subject: %d\n\nbare LF body\n" % n if n % 2 else b"Subject: %d\r\n\r\nx\r\n" % n
        (new / f"{1_700_000_000 + n}.M{n}P1.host,S={len(body)}").write_bytes(body)
    inbox.sync(force=True)
    messages = inbox.messages()
    assert [m.uid for m in messages] == list(range(1, count + 2))
    assert messages[0].base == delivered.base  # indexed before: kept its UID
    for m in messages[1:]:
        data = (inbox.path / m.path).read_bytes()
        assert m.size == crlf_size(data)
    assert inbox.sync(force=True).changed == []  # nothing indexed twice


def test_a_base_given_twice_or_already_indexed_keeps_one_row(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite")
    index.add_folder("INBOX")

    def item(base: str) -> NewMessage:
        return NewMessage(base, f"new/{base}", frozenset(), 10, 1.0)

    first = index.add("INBOX", [item("a")])
    again = index.add("INBOX", [item("b"), item("a"), item("b"), item("c")])
    assert [m.uid for m in again] == [2, first[0].uid, 2, 3]
    assert [m.base for m in index.messages("INBOX")] == ["a", "b", "c"]


def test_no_size_is_handed_out_unsized_when_a_sync_indexes_more_meanwhile(tmp_path: Path) -> None:
    """A read counts the sizes it lacks, then reads: files another sync indexed in
    between are counted too (a second round), never listed with a negative size."""
    index = Index(tmp_path / "index.sqlite")
    index.add_folder("INBOX")
    index.add("INBOX", [NewMessage("a", "new/a", frozenset(), UNSIZED, 1.0)])
    asked: list[list[str]] = []

    def count(name: str, files: list[tuple[int, str, str, bool]]) -> dict[int, tuple[int, float]]:
        asked.append([base for _, base, _, _ in files])
        if len(asked) == 1:  # another process's sync, between the count and the read
            index.add("INBOX", [NewMessage("b", "new/b", frozenset(), UNSIZED, 2.0)])
        return {uid: (100 + uid, 9.0) for uid, _, _, _ in files}

    index.count_files = count
    assert [(m.base, m.size) for m in index.messages("INBOX")] == [("a", 101), ("b", 102)]
    assert asked == [["a"], ["b"]]
    assert index.status("INBOX").size == 203 and index.totals() == (2, 203)
