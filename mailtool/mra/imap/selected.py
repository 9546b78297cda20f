"""The selected mailbox as one session sees it: its own sequence-number view.

RFC 9051 §2.3.1.2: message sequence numbers change only when the session is
told (EXPUNGE / VANISHED). Other sessions and deliveries change the store at
any time, so each session keeps the UIDs it has announced, in order, and
turns the store's changes into pending untagged responses: new messages
(EXISTS), expunged ones (EXPUNGE or, under QRESYNC, VANISHED) and flag changes
(FETCH FLAGS). ``poll`` asks the store what changed since the highest MODSEQ
seen (cheap: an index query), ``updates`` renders what may be sent now.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import NamedTuple

from mailtool.mra.imap import wire
from mailtool.mra.imap.backend import UNDATED, MessageMeta, Snapshot, UserMail
from mailtool.protocol.imap.responses import Flags, Response, Vanished
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.status import ResponseCode

#: PERMANENTFLAGS of a writable mailbox: system flags and any keyword (RFC 9051 §7.1)
PERMANENT_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*")
#: FLAGS announced at SELECT besides the keywords in use
DEFINED_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


RECENT = "\\Recent"


class InvalidSequence(Exception):
    """A message sequence number beyond the mailbox (the session answers BAD)."""


class _Shown(NamedTuple):
    """A message's metadata as this session shows it: with ``\\Recent`` added."""

    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internal_date: float


class SelectedMailbox:
    """One session's view of one open folder."""

    def __init__(
        self,
        mail: UserMail,
        name: str,
        snap: Snapshot,
        *,
        readonly: bool,
        recent: range = range(0),
        show_recent: bool = True,
    ) -> None:
        self.mail = mail
        self.name = name
        self.readonly = readonly
        self.uidvalidity = snap.uidvalidity
        self.highestmodseq = snap.highestmodseq
        # copies of the snapshot's shared views (a list and a dict copy are C loops)
        self.uids: list[int] = snap.uids.copy()
        self.uidnext = max(snap.uidnext, self.uids[-1] + 1 if self.uids else 1)
        self.meta: dict[int, MessageMeta] = snap.by_uid.copy()
        self.keywords: set[str] = set(snap.keywords)
        self._announced_exists = len(self.uids)
        self._vanished: set[int] = set()
        self._flag_changes: set[int] = set()
        self._new_keywords = False
        #: RFC 5182 SEARCHRES: UIDs of the last SEARCH RETURN (SAVE)
        self.saved: list[int] = []
        #: RFC 3501 §2.3.2: UID ranges this session claimed as \\Recent, the UIDs in
        #: view among them, and whether to show them (not to IMAP4rev2, RFC 9051 §2.3.2)
        self._claimed: list[range] = [recent]
        self.show_recent = show_recent
        # the claimed range is a slice of the ascending UIDs: the first SELECT after
        # 100,000 files arrived claims them all, so no Python test per UID
        uids = self.uids
        lo, hi = bisect.bisect_left(uids, recent.start), bisect.bisect_left(uids, recent.stop)
        in_view = uids[lo:hi] if recent else []
        self.recent: set[int] = set(in_view)
        self._announced_recent = len(in_view)
        if show_recent:
            self._show_recent(in_view)
        #: UIDs in view whose size (negative) or date (``UNDATED``) is not counted yet:
        #: see :meth:`counted`
        self.unsized: list[int] = list(snap.unsized)
        self.undated: list[int] = list(snap.undated)

    def uncounted(self, *, sizes: bool) -> list[int]:
        """What :meth:`UserMail.count` should count before a command that needs dates
        (and, with ``sizes``, sizes), ascending; empty when the view has them all."""
        if not sizes or not self.unsized:
            return self.undated
        if not self.undated:
            return self.unsized
        return sorted(set(self.unsized).union(self.undated))

    def counted(self, asked: list[int], found: dict[int, tuple[int, float]]) -> None:
        """Put the sizes and dates :meth:`UserMail.count` found for ``asked`` in view (a
        message gone meanwhile keeps 0 and the epoch: it is only shown until its
        EXPUNGE); a size it did not count (dates only) stays uncounted."""
        meta = self.meta
        for uid in asked:
            m = meta.get(uid)
            if m is None:
                continue
            size, date = found.get(uid, (0, 0.0))
            size = m.size if m.size >= 0 else size
            date = m.internal_date if m.internal_date != UNDATED else date
            meta[uid] = m._replace(size=size, internal_date=date)  # type: ignore[attr-defined]
        self.unsized = [u for u in self.unsized if u in meta and meta[u].size < 0]
        self.undated = [u for u in self.undated if u in meta and meta[u].internal_date == UNDATED]

    # ----------------------------------------------------------- numbering
    @property
    def exists(self) -> int:
        return len(self.uids)

    def msn(self, uid: int) -> int:
        """1-based sequence number of ``uid`` (which must be in the view)."""
        return bisect.bisect_left(self.uids, uid) + 1

    def resolve(self, seqs: SequenceSet, *, uid: bool) -> list[int]:
        """The UIDs a sequence set (of MSNs or UIDs) names, ascending."""
        if seqs.saved:
            return [u for u in self.saved if u in self.meta]
        uids = self.uids
        out: list[int] = []
        if uid:
            if not uids:
                return []
            # slices of the ascending UID list, one per merged range: ``1:*`` of
            # 100,000 messages is one list copy, not 100,000 range tests
            for lo, hi in seqs.normalized(uids[-1]):
                out += uids[bisect.bisect_left(uids, lo) : bisect.bisect_right(uids, hi)]
            return out
        count = len(uids)
        for a, b in seqs.ranges:
            if (a is not None and a > count) or (b is not None and b > count):
                # RFC 9051 §9 seq-number: numbers beyond the mailbox are an error
                raise InvalidSequence
        for lo, hi in seqs.normalized(count):
            out += uids[max(lo, 1) - 1 : min(hi, count)]
        return out

    def flags(self, uid: int) -> frozenset[str]:
        return self.meta[uid].flags

    def expunged(self, uid: int) -> bool:
        """Gone from the store, not yet announced (RFC 9051 §7.5.1 keeps its number)."""
        return uid in self._vanished

    def _show_recent(self, uids: list[int]) -> None:
        """:meth:`_shown` for many claimed UIDs at once: one flag-set union per distinct
        flag set, not one per message."""
        meta = self.meta
        with_recent: dict[frozenset[str], frozenset[str]] = {}
        for uid in uids:
            m = meta[uid]
            flags = with_recent.get(m.flags)
            if flags is None:
                flags = with_recent[m.flags] = m.flags | {RECENT}
            meta[uid] = _Shown(uid, flags, m.modseq, m.size, m.internal_date)

    def _shown(self, m: MessageMeta) -> MessageMeta:
        if self.show_recent and m.uid in self.recent:
            return _Shown(m.uid, m.flags | {RECENT}, m.modseq, m.size, m.internal_date)
        return m

    def _claim_new(self, changed: list[MessageMeta]) -> None:
        """New messages in view: \\Recent for us if no other session took them first
        (RFC 3501 §7.3.2; EXAMINE only looks, RFC 3501 §6.3.2)."""
        top = self.uids[-1] if self.uids else 0
        new = [m.uid for m in changed if m.uid > top]
        if not new:
            return
        if not any(new[-1] in r for r in self._claimed):
            got = self.mail.claim_recent(self.name, peek=self.readonly)
            last = self._claimed[-1]
            if got.start <= last.stop and got.stop >= last.stop:  # contiguous: merge
                self._claimed[-1] = range(min(last.start, got.start), got.stop)
            else:
                self._claimed.append(got)
        self.recent.update(u for u in new if any(u in r for r in self._claimed))

    # ------------------------------------------------------------- changes
    def poll(self) -> None:
        """Fold the store's changes since our highest MODSEQ into pending updates."""
        changes = self.mail.changes(self.name, self.highestmodseq)
        self.apply(changes.changed, changes.vanished)
        self.highestmodseq = max(self.highestmodseq, changes.highestmodseq)
        self.uidnext = max(self.uidnext, changes.uidnext)

    def apply(self, changed: Iterable[MessageMeta], vanished: Iterable[int]) -> None:
        # ascending UIDs: a new message must not be dropped because a higher UID
        # came first in the store's MODSEQ order
        changed = sorted(changed, key=lambda m: m.uid)
        self._claim_new(changed)
        for m in changed:
            m = self._shown(m)
            old = self.meta.get(m.uid)
            if old is None:
                if self.uids and m.uid < self.uids[-1]:
                    continue  # expunged before we saw it, or a stale row
                self.uids.append(m.uid)
            elif old.flags != m.flags:
                self._flag_changes.add(m.uid)
            self.meta[m.uid] = m
            new = {f for f in m.flags if f[:1] != "\\"} - self.keywords
            if new:
                self.keywords |= new
                self._new_keywords = True
        for uid in vanished:
            if uid in self.meta:
                self._vanished.add(uid)

    def note_own_flags(self, metas: Iterable[MessageMeta]) -> None:
        """Flags this session changed and already reported (STORE, FETCH \\Seen)."""
        for m in metas:
            if m.uid in self.meta:
                self.meta[m.uid] = self._shown(m)
                self._flag_changes.discard(m.uid)
                new = {f for f in m.flags if f[:1] != "\\"} - self.keywords
                if new:
                    self.keywords |= new
                    self._new_keywords = True

    def remove(self, uids: Iterable[int]) -> list[tuple[int, int]]:
        """Drop ``uids`` from the view; returns (msn, uid) in descending MSN order,
        each number valid at the moment its EXPUNGE is sent.

        RFC 3501 §7.4.1 / §5.2: only messages the client was told about (within the
        last EXISTS it saw) get an EXPUNGE; a message that arrived and went between
        two updates is dropped silently, and the EXISTS still owed for the others
        stays owed (it was lost here before: ``* N FETCH`` above the client's count)."""
        gone = sorted((self.msn(u), u) for u in set(uids) if u in self.meta)
        told: list[tuple[int, int]] = []
        for n, u in reversed(gone):
            idx = bisect.bisect_left(self.uids, u)
            del self.uids[idx]
            del self.meta[u]
            self.recent.discard(u)
            self._vanished.discard(u)
            self._flag_changes.discard(u)
            if n <= self._announced_exists:
                told.append((n, u))
                self._announced_exists -= 1
        return told

    def expunge_responses(self, uids: Iterable[int], *, qresync: bool) -> list[Response | bytes]:
        """Remove ``uids`` and render EXPUNGE (or VANISHED, RFC 7162 §3.2.10)."""
        removed = self.remove(uids)
        if not removed:
            return []
        out: list[Response | bytes]
        if qresync:
            out = [Vanished(wire.uid_set(u for _, u in removed))]
        else:
            out = [wire.number(n, "EXPUNGE") for n, _ in removed]
        if self.show_recent and len(self.recent) != self._announced_recent:
            out.append(self._recent_response())  # RFC 3501 §7.3.2, as Dovecot does
        return out

    def _recent_response(self) -> bytes:
        self._announced_recent = len(self.recent)
        return wire.number(len(self.recent), "RECENT")

    def permanent_flags(self) -> tuple[str, ...]:
        """PERMANENTFLAGS: none read-only; else every flag in use and ``\\*`` (RFC 9051
        §7.1: new keywords may be created)."""
        return () if self.readonly else (*self.all_flags(), "\\*")

    def flag_updates(self) -> list[Response | bytes]:
        """FLAGS and ``OK [PERMANENTFLAGS]`` once a keyword new to the mailbox appeared:
        sent before any FETCH that shows it (RFC 3501 §7.2.6; Dovecot does the same)."""
        if not self._new_keywords:
            return []
        self._new_keywords = False
        code = ResponseCode("PERMANENTFLAGS", self.permanent_flags())
        return [Flags(self.all_flags()), wire.status(None, "OK", "Flags permitted", code)]

    def updates(
        self, *, expunge_ok: bool, qresync: bool, condstore: bool
    ) -> list[Response | bytes]:
        """Untagged responses the client may be sent now."""
        out: list[Response | bytes] = []
        if expunge_ok and self._vanished:
            out += self.expunge_responses(list(self._vanished), qresync=qresync)
        out += self.flag_updates()
        if len(self.uids) != self._announced_exists:
            self._announced_exists = len(self.uids)
            out.append(wire.number(len(self.uids), "EXISTS"))
        if self.show_recent and len(self.recent) != self._announced_recent:
            out.append(self._recent_response())  # RFC 3501 §7.3.2: when it changed
        for uid in sorted(self._flag_changes):
            if uid in self.meta and uid not in self._vanished:
                out.append(self.flags_response(uid, modseq=condstore))
        self._flag_changes.clear()
        return out

    def flags_response(self, uid: int, *, modseq: bool = False) -> Response:
        """``* n FETCH (FLAGS (...) UID u [MODSEQ (m)])``: UID always, as QRESYNC
        requires (RFC 7162 §3.2.4) and every client accepts."""
        m = self.meta[uid]
        return wire.flags_fetch(self.msn(uid), uid, m.flags, m.modseq if modseq else None)

    def all_flags(self) -> tuple[str, ...]:
        return wire.sorted_flags({*DEFINED_FLAGS, *self.keywords})


__all__ = ["DEFINED_FLAGS", "PERMANENT_FLAGS", "InvalidSequence", "SelectedMailbox"]
