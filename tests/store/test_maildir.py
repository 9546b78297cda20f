"""Maildir++ on disk: names, escapes, delivery, flags in file names."""

from __future__ import annotations

import io
import mailbox
import os
import re

import pytest

from mailtool.errors import AlreadyExists, NotFound
from mailtool.store.maildir import (
    InvalidFolderName,
    Maildir,
    from_disk,
    info_letters,
    normalize_folder,
    size_in_name,
    split_filename,
    to_disk,
)


@pytest.fixture
def md(tmp_path):
    m = Maildir(tmp_path / "alice")
    m.create()
    return m


@pytest.mark.parametrize(
    ("imap", "disk"),
    [
        ("Sent", ".Sent"),
        ("Work/Projects", ".Work.Projects"),
        ("v1.2/notes", ".v1\\2e2.notes"),
        ("back\\slash", ".back\\5cslash"),
        ("Entwürfe", ".Entwürfe"),
        ("INBOX/sub", ".INBOX.sub"),
    ],
)
def test_imap_names_map_to_maildirpp_and_back(imap, disk):
    assert to_disk(imap) == disk
    assert from_disk(disk) == imap


def test_inbox_is_case_insensitive_and_the_root():
    assert normalize_folder("inbox") == "INBOX"
    assert normalize_folder("Inbox/x") == "INBOX/x"
    assert to_disk("INBOX") == ""


@pytest.mark.parametrize(
    "bad",
    ["", "/etc", "a//b", "a/", "..", "../x", "a/../b", ".", "a/./b", "a\x00b", "a\nb", "tab\there",
     "del\x7f", "x" * 300],
)  # fmt: skip
def test_names_that_could_escape_or_confuse_are_refused(md, bad):
    with pytest.raises(InvalidFolderName):
        md.create_folder(bad)


def test_hostile_names_stay_inside_the_root(md):
    for name in ("cur", "new", "tmp", "..x", "x..", "a.b", "~", "&-"):
        md.create_folder(name)
        path = md.path(name).resolve()
        assert path.parent == md.root.resolve(), name
        assert path.name.startswith("."), name
    assert {"cur", "new", "tmp", "..x", "a.b"} <= set(md.folders())


def test_folder_create_rename_delete(md):
    md.create_folder("Work")
    md.create_folder("Work/Projects")
    with pytest.raises(AlreadyExists):
        md.create_folder("Work")
    pairs = md.rename_folder("Work", "Job")
    assert sorted(pairs) == [("Work", "Job"), ("Work/Projects", "Job/Projects")]
    assert "Job/Projects" in md.folders() and "Work" not in md.folders()
    with pytest.raises(InvalidFolderName):
        md.rename_folder("Job", "Job/inner")
    md.delete_folder("Job")
    assert "Job" not in md.folders() and "Job/Projects" in md.folders()
    with pytest.raises(NotFound):
        md.delete_folder("Job")
    with pytest.raises(InvalidFolderName):
        md.delete_folder("INBOX")


def test_deliver_names_files_per_the_maildir_spec(md):
    base, rel, size = md.deliver("INBOX", b"Subject: hi\n\nbody\n")
    assert rel == f"new/{base}" and size == 18
    assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+R[0-9a-f]{8}\.[^/:]+,S=18", base)
    assert (md.root / rel).read_bytes() == b"Subject: hi\n\nbody\n"
    base2, rel2, _ = md.deliver(
        "Sent", io.BytesIO(b"x"), flags={"\\Seen", "\\Answered"}, internal_date=1e9
    )
    assert base2 != base
    assert rel2 == f"cur/{base2}:2,RS"
    assert os.stat(md.path("Sent") / rel2).st_mtime == 1e9
    assert not any((md.root / "tmp").iterdir()), "nothing left in tmp/"


def test_flag_letters_are_sorted_and_parsed():
    assert (
        info_letters(
            {"\\Seen", "\\Draft", "\\Flagged", "$Forwarded", "\\Deleted", "\\Answered", "kw"}
        )
        == "DFPRST"
    )
    assert split_filename("abc,S=3:2,FS") == ("abc,S=3", "FS")
    assert split_filename("abc") == ("abc", None)


def test_size_in_name_reads_a_whole_field_only() -> None:
    name = "1700000000.M1P1.host,S=120,W=124"
    assert (size_in_name(name), size_in_name(name, "W")) == (120, 124)
    assert size_in_name("1700000000.M1P1.host,S=120", "W") is None
    assert size_in_name("1700000000.M1P1.host,XS=5") is None  # not the S= field
    assert size_in_name("1700000000.M1P1.host,S=12a") is None
    assert size_in_name("1700000000.M1P1.S=7host") is None  # no comma before it


def test_set_flags_renames_the_file(md):
    base, rel, _ = md.deliver("INBOX", b"x")
    new = md.set_flags("INBOX", rel, {"\\Seen", "\\Flagged"})
    assert new == f"cur/{base}:2,FS"
    assert (md.root / new).exists() and not (md.root / rel).exists()


def test_set_flags_many_renames_each_and_says_which_were_gone(md):
    """The first SELECT's batch of new/ -> cur/ moves: one result per file, in order;
    None for a file another program moved meanwhile (the caller finds it)."""
    (b1, r1, _), (b2, r2, _), (b3, r3, _) = (md.deliver("Sent", b"x") for _ in range(3))
    os.rename(md.path("Sent") / r2, md.path("Sent") / f"cur/{b2}:2,S")  # someone else
    done = md.set_flags_many("Sent", [(r1, {"\\Seen"}), (r2, ()), (r3, ())])
    assert done == [f"cur/{b1}:2,S", None, f"cur/{b3}:2,"]
    assert sorted(p.name for p in (md.path("Sent") / "cur").iterdir()) == sorted(
        [f"{b1}:2,S", f"{b2}:2,S", f"{b3}:2,"])
    assert md.set_flags_many("Sent", [(done[0], {"\\Seen"})]) == [done[0]]  # already so


def test_python_mailbox_reads_our_tree_and_flags(md):
    """The stdlib's Maildir reader (same conventions as mutt) sees messages, folders, flags."""
    md.create_folder("Work/Projects")
    md.deliver("Work/Projects", b"Subject: s\n\nb\n", flags={"\\Seen", "\\Flagged"})
    box = mailbox.Maildir(md.root, create=False)
    assert "Work.Projects" in box.list_folders()
    msg = next(iter(box.get_folder("Work.Projects")))
    assert msg["subject"] == "s"
    assert msg.get_flags() == "FS"
