"""mailtool.store.metadata: the per-user METADATA entries (RFC 5464), without a server;
on both backends (SQLite file, PostgreSQL rows: mailtool/store/pg/metadata.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailtool.store.metadata import (
    Metadata,
    MetadataLimits,
    MetadataTooLarge,
    MetadataTooMany,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """``metadata(user)``: one user's entries (another call: another process or node)."""
    if request.param == "sqlite":
        return lambda user="a@x.test": Metadata(tmp_path / f"{user}.sqlite")
    from mailtool.store.pg.metadata import PgMetadata

    db = request.getfixturevalue("pg_database")
    return lambda user="a@x.test": PgMetadata(db, user)


def test_the_file_is_made_by_the_first_value_only(tmp_path: Path):
    md = Metadata(tmp_path / "md.sqlite")
    assert md.get("INBOX", ["/private/x"]) == []
    md.set("INBOX", [("/private/x", None)])  # removing from nothing makes nothing
    md.rename_mailbox("INBOX", "Other")
    md.remove_mailbox("INBOX")
    assert not (tmp_path / "md.sqlite").exists()
    md.set("INBOX", [("/Private/X", b"v")])
    assert md.get("INBOX", ["/private/x"]) == [("/private/x", b"v")]  # case-insensitive
    assert md.usage() == (1, 1)


def test_depth(metadata: Any):
    md = metadata()
    md.set("", [("/private/a", b"1"), ("/private/a/b", b"2"), ("/private/a/b/c", b"3")])
    md.set("", [("/private/ab", b"not a child")])
    assert [e for e, _ in md.get("", ["/private/a"], 0)] == ["/private/a"]
    assert [e for e, _ in md.get("", ["/private/a"], 1)] == ["/private/a", "/private/a/b"]
    assert len(md.get("", ["/private/a"], -1)) == 3


def test_rename_moves_children_and_wins_over_leftovers_delete_removes(metadata: Any):
    md = metadata()
    md.set("Work", [("/private/c", b"w")])
    md.set("Work/Sub", [("/private/c", b"s")])
    md.set("Workshop", [("/private/c", b"not a child")])
    md.set("Job", [("/private/c", b"leftover")])
    md.rename_mailbox("Work", "Job")
    assert md.get("Job", ["/private/c"]) == [("/private/c", b"w")]
    assert md.get("Job/Sub", ["/private/c"]) == [("/private/c", b"s")]
    assert md.get("Workshop", ["/private/c"]) == [("/private/c", b"not a child")]
    assert md.get("Work", ["/private/c"]) == []
    md.remove_mailbox("Job")
    assert md.get("Job", ["/private/c"]) == []
    assert md.get("Job/Sub", ["/private/c"]) != []  # DELETE removes one mailbox's


def test_limits_all_or_nothing(metadata: Any):
    md = metadata()
    limits = MetadataLimits(max_entry_size=10, max_entries=2, max_total=15)
    with pytest.raises(MetadataTooLarge) as exc:
        md.set("", [("/private/a", b"x" * 11)], limits)
    assert exc.value.limit == 10
    md.set("", [("/private/a", b"x" * 10)], limits)
    with pytest.raises(MetadataTooMany):  # 3 entries
        md.set("", [("/private/b", b"1"), ("/private/c", b"1")], limits)
    with pytest.raises(MetadataTooMany):  # 20 bytes
        md.set("", [("/private/b", b"y" * 10)], limits)
    assert md.usage() == (1, 10)
    md.set("", [("/private/a", None), ("/private/b", b"y" * 10)], limits)  # net: fits
    assert md.get("", ["/private/a", "/private/b"]) == [("/private/b", b"y" * 10)]


def test_users_are_apart_and_names_are_literal(metadata: Any):
    md, other = metadata(), metadata("b@x.test")
    md.set("", [("/private/a%", b"1"), ("/private/ab/c", b"2"), ("/private/a%/d", b"3")])
    assert [e for e, _ in md.get("", ["/private/a%"], -1)] == ["/private/a%", "/private/a%/d"]
    md.set("a_b", [("/private/x", b"1")])
    md.set("aXb/c", [("/private/x", b"2")])
    md.rename_mailbox("a_b", "new")
    assert metadata().get("aXb/c", ["/private/x"]) == [("/private/x", b"2")]
    assert other.get("", ["/private/a%"]) == [] and other.usage() == (0, 0)
    assert metadata().usage() == (5, 5)
