"""The IMAP view of the store: SELECT listings kept per folder and brought up to date
from the index's changes (not re-read), equal to a fresh read every time."""

from __future__ import annotations

from pathlib import Path

from mailtool.mra.imap.store_adapter import StoreUserMail
from mailtool.store.mailstore import MailStore

MSG = b"Subject: x\r\n\r\nbody\r\n"


def fresh_listing(mail: StoreUserMail, name: str) -> list[tuple]:
    mail._snapshots.clear()
    return [tuple(m) for m in mail.snapshot(name).messages]


def test_cached_listing_follows_appends_flags_and_expunges(tmp_path: Path) -> None:
    mail = StoreUserMail(MailStore(tmp_path), "ann@example.test")
    for _ in range(5):
        mail.append("INBOX", MSG, [], None)
    first = mail.snapshot("INBOX")
    assert mail.snapshot("INBOX") is first  # unchanged: the same listing
    mail.append("INBOX", MSG, ["\\Seen"], None)  # new mail only
    after_append = mail.snapshot("INBOX")
    assert [m.uid for m in after_append.messages] == [1, 2, 3, 4, 5, 6]
    mail.set_flags("INBOX", [2], "+", ["\\Deleted", "$Work"])
    mail.set_flags("INBOX", [4], "+", ["\\Flagged"])
    mail.expunge("INBOX", [2])
    mail.append("INBOX", MSG, [], None)
    updated = mail.snapshot("INBOX")
    assert [tuple(m) for m in updated.messages] == fresh_listing(mail, "INBOX")
    assert updated.uids == [1, 3, 4, 5, 6, 7]
    assert updated.by_uid[4].flags == {"\\Flagged"}
    assert updated.highestmodseq == mail.mail.index.counters("INBOX")[2]
    assert "$Work" not in updated.keywords


def test_many_changes_read_the_listing_again(tmp_path: Path) -> None:
    mail = StoreUserMail(MailStore(tmp_path), "bob@example.test")
    mail.append("INBOX", MSG, [], None)
    mail.snapshot("INBOX")
    for _ in range(150):
        mail.append("INBOX", MSG, [], None)
    snap = mail.snapshot("INBOX")
    assert snap.uids == list(range(1, 152))
    assert [tuple(m) for m in snap.messages] == fresh_listing(mail, "INBOX")


def test_a_poll_right_after_a_long_sync_does_not_scan_again(tmp_path: Path, monkeypatch) -> None:
    """The interval between rescans runs from a sync's end: the first SELECT after
    20,000 files arrived syncs for longer than it, and the FETCH that follows at once
    scanned the whole folder a second time."""
    import mailtool.mra.imap.store_adapter as adapter
    from mailtool.store.mailstore import Folder

    clock = [1000.0]
    monkeypatch.setattr(adapter.time, "monotonic", lambda: clock[0])
    mail = StoreUserMail(MailStore(tmp_path), "cy@example.test")
    mail.append("INBOX", MSG, [], None)
    syncs: list[bool] = []
    real_sync = Folder.sync

    def slow_sync(self, **kwargs):  # type: ignore[no-untyped-def]
        syncs.append(True)
        clock[0] += 2 * adapter.SYNC_INTERVAL
        return real_sync(self, **kwargs)

    monkeypatch.setattr(Folder, "sync", slow_sync)
    mail.snapshot("INBOX")
    assert len(syncs) == 1
    mail.changes("INBOX", 0)  # the poll after the SELECT's command
    assert len(syncs) == 1, "scanned again right after the SELECT's sync"
    clock[0] += adapter.SYNC_INTERVAL
    mail.changes("INBOX", 0)
    assert len(syncs) == 2
