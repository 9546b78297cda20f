"""MailStore / UserMail / Folder: the index and the files kept in step. The tests that
do not look at Maildir files run on the PostgreSQL mail store too (``mail_backend``)."""

from __future__ import annotations

import builtins
import os
import shutil

import pytest

from mailtool.errors import NotFound, QuotaExceeded
from mailtool.store.accounts import Quota
from mailtool.store.index import UNSIZED, NewMessage
from mailtool.store.maildir import InvalidFolderName
from mailtool.store.mailstore import MailStore

MSG = b"From: a@b.test\r\nSubject: hello\r\n\r\nbody\r\n"
#: a test that reads or writes the Maildir's files itself: the SQLite backend only
sqlite_only = pytest.mark.parametrize("mail_backend", ["sqlite"])


@pytest.fixture
def store(open_mail_store):
    return open_mail_store()


@pytest.fixture
def mail(store):
    return store.user("Alice@A.test")


def test_user_mail_is_shared_and_unknown_users_are_not_found(store, mail):
    assert store.user("alice@a.test") is mail
    assert mail.folders()[0] == "INBOX"
    assert set(mail.folders()) == {"INBOX", "Sent", "Drafts", "Junk", "Trash", "Archive"}
    with pytest.raises(NotFound):
        store.user("bob@a.test")


def test_deliver_then_read_back_by_uid(mail):
    uid = mail.deliver(MSG, internal_date=1_700_000_000)
    inbox = mail.folder("inbox")
    [info] = inbox.messages()
    assert (info.uid, info.size, info.internal_date, info.flags) == (uid, len(MSG), 1.7e9, set())
    assert inbox.read_bytes(uid) == MSG
    with inbox.open(uid) as fh:
        assert fh.read(4) == b"From"
    st = inbox.status()
    assert (st.messages, st.unseen, st.recent, st.size, st.uidnext) == (1, 1, 1, len(MSG), uid + 1)


def test_uids_are_stable_across_reopen_and_never_reused(open_mail_store):
    s1 = open_mail_store()
    inbox = s1.user("alice@a.test").folder("INBOX")
    uids = [inbox.append(MSG).uid for _ in range(3)]
    uidvalidity = inbox.status().uidvalidity
    inbox.store([uids[2]], ["\\Deleted"])
    inbox.expunge()
    s1.close()
    s2 = open_mail_store()
    inbox2 = s2.user("alice@a.test").folder("INBOX")
    inbox2.sync(force=True)
    assert [m.uid for m in inbox2.messages()] == uids[:2]
    assert inbox2.status().uidvalidity == uidvalidity
    assert inbox2.append(MSG).uid == uids[2] + 1, "an expunged UID is not handed out again"


@sqlite_only
def test_flags_show_in_file_names(mail):
    inbox = mail.folder("INBOX")
    uid = inbox.append(MSG).uid
    result = inbox.store([uid], ["\\seen", "\\Flagged", "$Label1"])
    assert [m.flags for m in result.changed] == [{"\\Seen", "\\Flagged", "$Label1"}]
    name = inbox.file_path(uid).name
    assert name.endswith(":2,FS") and inbox.file_path(uid).parent.name == "cur"
    inbox.store([uid], ["\\Flagged"], "remove")
    assert inbox.file_path(uid).name.endswith(":2,S")
    inbox.store([uid], ["\\Answered"], "replace")
    assert inbox.message(uid).flags == {"\\Answered"}
    assert inbox.file_path(uid).name.endswith(":2,R")


def test_unchanged_since_refuses_messages_modified_later(mail):
    inbox = mail.folder("INBOX")
    a, b = inbox.append(MSG).uid, inbox.append(MSG).uid
    before = inbox.status().highestmodseq
    inbox.store([a], ["\\Seen"])
    result = inbox.store([a, b], ["\\Flagged"], unchanged_since=before)
    assert result.failed == [a]
    assert [m.uid for m in result.changed] == [b]


@sqlite_only
def test_external_drop_gets_a_fresh_uid_and_its_flags(mail):
    inbox = mail.folder("INBOX")
    first = inbox.append(MSG).uid
    (inbox.path / "cur" / "1700000000.P1Q1.otherhost:2,S").write_bytes(b"Subject: dropped\n\nx\n")
    changes = inbox.sync()
    [new] = changes.changed
    # the size of the CRLF form IMAP sends (3 bare LFs in a 20-byte file)
    assert new.uid == first + 1 and new.flags == {"\\Seen"} and new.size == 23
    assert inbox.read_bytes(new.uid).startswith(b"Subject: dropped")
    assert inbox.sync(force=True).changed == [], "picked up once"


@sqlite_only
def test_dropped_files_are_sized_by_the_first_read_of_sizes(mail):
    """A sync whose Changes nobody wants (IMAP's) only stats dropped files: their CRLF
    sizes are counted, in one batch, by the first read that hands sizes out; a file
    renamed meanwhile is found, one deleted meanwhile counts 0 (its expunge comes next)."""
    inbox = mail.folder("INBOX")
    for n in range(3):
        (inbox.path / "new" / f"170000000{n}.M{n}P1.host").write_bytes(b"Subject: x\n\nbody\n")
    assert inbox.sync(report=False).changed == []
    assert [m.size for m in mail.index.summaries("INBOX")] == [UNSIZED] * 3
    rows = sorted(mail.index.files("INBOX"))
    os.rename(inbox.path / rows[0][2], inbox.path / "cur" / f"{rows[0][1]}:2,S")  # mutt
    os.unlink(inbox.path / rows[1][2])
    assert inbox.status().size == 40  # 17 bytes, 3 bare LFs: 20 sent
    assert [(m.uid, m.size) for m in inbox.messages()] == [(1, 20), (2, 0), (3, 20)]
    assert mail.usage().bytes == 40


@sqlite_only
def test_sizes_counted_while_files_move_are_found_where_they_went(mail, monkeypatch):
    """The new/ -> cur/ moves (store/recent_moves.py) run beside a size count: a file the
    count's scan saw in new/ and that moved right after is looked for again, not counted
    0 (a SORT SIZE of 100,000 dropped files put the wrong message first)."""
    inbox = mail.folder("INBOX")
    for n in range(4):
        (inbox.path / "new" / f"170000000{n}.M{n}P1.host").write_bytes(b"Subject: x\n\nbody\n")
    assert inbox.sync(report=False).changed == []
    rows = sorted(mail.index.files("INBOX"))
    # two moved before the count (with flags, so not where \Recent's move puts them)
    for _uid, base, path, _flags in rows[:2]:
        os.rename(inbox.path / path, inbox.path / "cur" / f"{base}:2,S")
    scan = type(mail.maildir).scan
    later = iter(rows[2:])  # the other two move one after each scan of the count

    def moving_scan(self, folder):  # another mover renames one file after each scan
        found = list(scan(self, folder))
        step = next(later, None)
        if step is not None:
            os.rename(inbox.path / step[2], inbox.path / "cur" / f"{step[1]}:2,F")
        return iter(found)

    monkeypatch.setattr(type(mail.maildir), "scan", moving_scan)
    assert [m.size for m in inbox.messages()] == [20] * 4


@sqlite_only
def test_external_delete_and_rename_are_adopted(mail):
    inbox = mail.folder("INBOX")
    a, b = inbox.append(MSG).uid, inbox.append(MSG).uid
    modseq = inbox.status().highestmodseq
    os.unlink(inbox.file_path(a))
    path_b = inbox.file_path(b)
    os.rename(
        path_b, inbox.path / "cur" / (path_b.name.split(":")[0] + ":2,ST")
    )  # mutt marks read+deleted
    changes = inbox.sync()
    assert changes.vanished == [a]
    assert [(m.uid, m.flags) for m in changes.changed] == [(b, {"\\Seen", "\\Deleted"})]
    since = inbox.changes_since(modseq)
    assert since.vanished == [a] and [m.uid for m in since.changed] == [b]


@sqlite_only
def test_crash_after_file_before_index_is_recovered_by_sync(mail):
    """A file fsynced into new/ whose index commit never happened: sync indexes it once."""
    inbox = mail.folder("INBOX")
    base, rel, size = mail.maildir.deliver("INBOX", MSG)  # the file half of append()
    assert inbox.messages() == []
    [info] = inbox.sync().changed
    assert (info.base, info.size) == (base, size)
    # the interrupted writer finishing later finds the row, not a duplicate
    [again] = mail.index.add("INBOX", [NewMessage(base, rel, frozenset(), size, 0.0)])
    assert again.uid == info.uid and len(inbox.messages()) == 1


@sqlite_only
def test_crash_leftover_in_tmp_is_not_a_message(mail):
    inbox = mail.folder("INBOX")
    (inbox.path / "tmp" / "123.half-written").write_bytes(b"Subj")
    assert inbox.sync(force=True).changed == []


def test_expunge_only_deleted_and_only_given_uids(mail, mail_backend):
    inbox = mail.folder("INBOX")
    a, b, c = (inbox.append(MSG).uid for _ in range(3))
    inbox.store([a, b], ["\\Deleted"])
    assert inbox.expunge([b, c]) == [b]
    assert inbox.expunge() == [a]
    assert [m.uid for m in inbox.messages()] == [c]
    if mail_backend == "sqlite":  # the expunged files are gone
        assert sorted(p.name for p in (inbox.path / "new").iterdir()) == [inbox.file_path(c).name]


def test_copy_and_move_return_uid_maps(mail):
    inbox, archive = mail.folder("INBOX"), mail.folder("Archive")
    a = inbox.append(MSG, ["\\Seen", "work"], internal_date=1e9).uid
    b = inbox.append(MSG).uid
    copied = inbox.copy([a], "Archive")
    [(src, dst)] = copied.items()
    assert src == a
    got = archive.message(dst)
    assert got.flags == {"\\Seen", "work"} and got.internal_date == 1e9
    assert archive.read_bytes(dst) == MSG
    moved = inbox.move([b], "Archive")
    assert moved == {b: dst + 1}
    assert [m.uid for m in inbox.messages()] == [a]
    assert inbox.changes_since(0).vanished == [b]


def test_quota_is_enforced_from_the_index(mail, mail_accounts):
    accounts = mail_accounts
    accounts.set_quota("alice@a.test", Quota(storage_bytes=None, messages=2))
    mail.deliver(MSG)
    mail.deliver(MSG, "Sent")
    with pytest.raises(QuotaExceeded):
        mail.deliver(MSG)
    with pytest.raises(QuotaExceeded):
        mail.folder("INBOX").copy([1], "Archive")
    accounts.set_quota("alice@a.test", Quota(storage_bytes=len(MSG) * 2 + 10, messages=None))
    with pytest.raises(QuotaExceeded):
        mail.deliver(MSG)
    assert mail.usage().messages == 2 and mail.usage().bytes == 2 * len(MSG)


def test_watchers_hear_changes_from_this_process(mail):
    seen = []
    unwatch = mail.watch(seen.append)
    inbox = mail.folder("INBOX")
    uid = inbox.append(MSG).uid
    inbox.store([uid], ["\\Deleted"])
    inbox.expunge()
    assert [(c.folder, c.kind, c.uids) for c in seen] == [
        ("INBOX", "append", (uid,)),
        ("INBOX", "flags", (uid,)),
        ("INBOX", "expunge", (uid,)),
    ]
    assert seen[0].modseq < seen[1].modseq < seen[2].modseq
    unwatch()
    inbox.append(MSG)
    assert len(seen) == 3


def test_folder_lifecycle_and_uidvalidity_on_recreate(mail):
    mail.create_folder("Work/Projects/2024")
    assert {"Work", "Work/Projects", "Work/Projects/2024"} <= set(mail.folders())
    v1 = mail.folder("Work").status().uidvalidity
    mail.delete_folder("Work")
    mail.create_folder("Work")
    assert mail.folder("Work").status().uidvalidity > v1
    mail.folder("Work/Projects").append(MSG)
    mail.rename_folder("Work/Projects", "Old")
    assert mail.folder("Old/2024") and len(mail.folder("Old").messages()) == 1
    with pytest.raises(NotFound):
        mail.folder("Work/Projects")
    with pytest.raises(InvalidFolderName):
        mail.create_folder("../../evil")
    mail.subscribe("Old", False)
    assert "Old" not in mail.subscriptions() and "INBOX" in mail.subscriptions()


def test_renaming_inbox_moves_its_mail(mail):
    mail.deliver(MSG)
    mail.rename_folder("INBOX", "Before")
    assert mail.folder("INBOX").messages() == []
    assert len(mail.folder("Before").messages()) == 1


@sqlite_only
def test_folders_made_by_another_program_are_indexed(mail):
    shutil.copytree(mail.folder("Sent").path, mail.maildir.root / ".FromMutt")
    assert "FromMutt" in mail.folders()
    assert mail.folder("FromMutt").status().messages == 0


@sqlite_only
def test_100k_message_folder_status_and_listing_open_no_file(mail, monkeypatch):
    n = 100_000
    items = [
        NewMessage(
            f"{i}.synthetic,S=10", f"cur/{i}.synthetic,S=10:2,S", frozenset({"\\Seen"}), 10, 1e9
        )
        for i in range(n)
    ]
    mail.index.add("INBOX", items)
    inbox = mail.folder("INBOX")

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a file was touched: {args[:1]}")

    for name in ("open", "stat", "scandir", "listdir"):
        monkeypatch.setattr(os, name, forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    st = inbox.status()
    assert (st.messages, st.unseen, st.size, st.uidnext) == (n, 0, 10 * n, n + 1)
    msgs = inbox.messages()
    assert len(msgs) == n and msgs[-1].uid == n
    assert mail.usage().messages == n
    assert inbox.changes_since(st.highestmodseq).changed == []


def test_concurrent_appends_from_threads_get_distinct_uids(mail, mail_backend):
    import threading

    inbox = mail.folder("INBOX")
    uids: list[int] = []

    def work() -> None:
        for _ in range(20):
            uids.append(inbox.append(MSG).uid)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(uids) == list(range(1, 81))
    if mail_backend == "sqlite":
        assert len(list((inbox.path / "new").iterdir())) == 80
    assert inbox.sync(force=True).changed == []


def _append_in_process(data_dir, n):
    store = MailStore(data_dir)
    inbox = store.user("alice@a.test").folder("INBOX")
    for _ in range(n):
        inbox.append(MSG)
        inbox.sync()
    store.close()


@sqlite_only
def test_two_processes_appending_and_syncing_never_duplicate(tmp_path, mail):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_in_process, args=(tmp_path, 15)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    inbox = mail.folder("INBOX")
    inbox.sync(force=True)
    msgs = inbox.messages()
    assert len(msgs) == 30 and len({m.base for m in msgs}) == 30
    assert [m.uid for m in msgs] == list(range(1, 31))
