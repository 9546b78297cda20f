"""Untagged responses under concurrency (issue 16 class 12): the numbers a session
sends are ones it has been told about (RFC 3501 §5.2, §7.4.1). The selected view is
driven directly with store changes arriving together (the stress test, tests/stress/,
drives the real thing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailtool.mra.imap.backend import Changes, Snapshot
from mailtool.mra.imap.selected import SelectedMailbox


@dataclass(frozen=True)
class Meta:
    uid: int
    flags: frozenset[str] = frozenset()
    modseq: int = 1
    size: int = 10
    internal_date: float = 0.0


class FakeMail:
    """The store's answer to ``changes`` is whatever the test queued."""

    def __init__(self) -> None:
        self.next: Changes | None = None

    def changes(self, folder: str, since: int) -> Changes:
        assert self.next is not None
        out, self.next = self.next, None
        return out

    def claim_recent(self, folder: str, *, peek: bool = False) -> range:
        return range(1 << 40, 1 << 40)  # no \\Recent here (RFC 3501 §2.3.2 is not tested)

    def __getattr__(self, name: str) -> Any:  # anything else the view may ask: nothing
        return lambda *a, **k: None


def _view(*uids: int) -> tuple[SelectedMailbox, FakeMail]:
    mail = FakeMail()
    snap = Snapshot(1, max(uids, default=0) + 1, 1, [Meta(u) for u in uids])
    return SelectedMailbox(mail, "INBOX", snap, readonly=False), mail  # type: ignore[arg-type]


def _lines(box: SelectedMailbox, mail: FakeMail, changed: list[Meta], vanished: list[int],
           *, expunge_ok: bool = True) -> list[bytes]:  # fmt: skip
    mail.next = Changes(changed, vanished, 9, 100)  # type: ignore[arg-type]
    box.poll()
    out = box.updates(expunge_ok=expunge_ok, qresync=False, condstore=False)
    # EXISTS and EXPUNGE only (RECENT, FLAGS are another class's)
    return [r for r in out if isinstance(r, bytes) and r.endswith((b"EXISTS\r\n", b"EXPUNGE\r\n"))]


def test_arrival_and_expunge_in_one_update_still_announce_the_arrival() -> None:
    box, mail = _view(1, 2, 3)
    # another session appended UID 4 and expunged UID 2 between two of our commands
    assert _lines(box, mail, [Meta(4, modseq=5)], [2]) == [b"* 2 EXPUNGE\r\n", b"* 3 EXISTS\r\n"]
    assert box.uids == [1, 3, 4]


def test_arrival_while_expunges_are_held_back() -> None:
    box, mail = _view(1, 2, 3)
    # during FETCH by number: no EXPUNGE, but the new message is announced (4 EXISTS)
    assert _lines(box, mail, [Meta(4, modseq=5)], [3], expunge_ok=False) == [b"* 4 EXISTS\r\n"]
    assert _lines(box, mail, [], []) == [b"* 3 EXPUNGE\r\n"]
    assert box.uids == [1, 2, 4]


def test_message_that_came_and_went_is_never_announced() -> None:
    box, _ = _view(1, 2)
    box.apply([Meta(3, modseq=5)], [])  # seen by a poll, not yet announced ...
    box.apply([], [3])  # ... and expunged before the next update
    out = box.updates(expunge_ok=True, qresync=False, condstore=False)
    assert not [
        r for r in out if isinstance(r, bytes) and b"EXPUNGE" in r
    ]  # no "* 3 EXPUNGE" for a message the client never heard of
    assert box.uids == [1, 2]


def test_changes_out_of_uid_order_lose_no_message() -> None:
    box, mail = _view(1)
    # UID 3 first (lower MODSEQ), UID 2 after it (its flags changed later)
    assert _lines(box, mail, [Meta(3, modseq=5), Meta(2, modseq=6)], []) == [b"* 3 EXISTS\r\n"]
    assert box.uids == [1, 2, 3]
