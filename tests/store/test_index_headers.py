"""The index's header cache: what SEARCH FROM/TO/CC/BCC/SUBJECT scans instead of files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtool.errors import NotFound
from mailtool.store.index import Index


@pytest.fixture
def index(tmp_path: Path) -> Index:
    idx = Index(tmp_path / "index.sqlite")
    idx.add_folder("INBOX")
    return idx


def test_header_search_matches_substrings_of_any_value(index: Index) -> None:
    index.put_headers(
        "INBOX",
        [
            (1, {"subject": ("lunch plans",), "to": ("ann@a.test", "bob@b.test")}),
            (2, {"subject": ("café",), "from": ("d\udcffn@x.test",)}),
            (3, {"subject": ("",)}),
            (4, {}),
        ],
    )
    assert sorted(index.header_cached_uids("INBOX")) == [1, 2, 3, 4]
    assert index.header_search("INBOX", "subject", "plan") == [1]
    assert index.header_search("INBOX", "Subject", "caf") == [2]
    assert index.header_search("INBOX", "to", "bob@") == [1]
    # values are not run together: no match across the join of two To: fields
    assert index.header_search("INBOX", "to", "test\nbob") == []
    assert index.header_search("INBOX", "from", "d\udcffn") == [2]  # undecodable bytes kept
    # an empty needle asks whether the field exists (RFC 9051 §6.4.4 HEADER)
    assert index.header_search("INBOX", "subject", "") == [1, 2, 3]
    assert index.header_search("INBOX", "bcc", "") == []


def test_header_cache_rejects_other_fields_and_folders(index: Index) -> None:
    with pytest.raises(NotFound):
        index.header_search("INBOX", "x-priority", "1")
    with pytest.raises(NotFound):
        index.put_headers("Nope", [(1, {})])


def test_header_rows_go_with_their_folder(index: Index) -> None:
    index.put_headers("INBOX", [(1, {"subject": ("x",)})])
    index.remove_folder("INBOX")
    index.add_folder("INBOX")
    assert index.header_cached_uids("INBOX") == []
