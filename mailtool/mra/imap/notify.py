"""NOTIFY (RFC 5465): push the changes of other mailboxes, and of the selected one at
any time, over the one connection.

Driven by the store's change notifier, as IDLE is (:mod:`mailtool.store.notify`:
inotify across processes, the store's watchers in-process; no polling): the
session's watcher marks the changed folder (:meth:`NotifyState.mark`) and wakes the
session, which compares the folder's STATUS with the last it sent and says what
changed. Nothing is queued but the names of changed folders, so a burst of
deliveries to one mailbox costs one STATUS.

What is sent (RFC 5465 §5):

* the selected mailbox (``selected`` / ``selected-delayed``): EXISTS, EXPUNGE (not
  for ``selected-delayed``, §6) and FETCH FLAGS as soon as they happen, also when no
  command is running; MessageNew's fetch attributes as an untagged FETCH of the new
  messages (§5.2);
* other mailboxes: ``* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)`` (plus
  HIGHESTMODSEQ once CONDSTORE is on) for MessageNew/MessageExpunge, and for
  FlagChange when only UNSEEN/HIGHESTMODSEQ moved (§5.2-5.4);
* MailboxName: ``* LIST () "/" name`` for a new mailbox, ``* LIST (\\NonExistent)``
  for a deleted one (a RENAME is seen as both; no OLDNAME) (§5.4);
* SubscriptionChange: ``* LIST (\\Subscribed) "/" name`` / ``* LIST () "/" name`` (§5.5).

Left out: AnnotationChange, MailboxMetadataChange and ServerMetadataChange
(``NO [BADEVENT]``, as Dovecot). ``inboxes`` means INBOX (Sieve may file anywhere,
which cannot be known in advance).

Bounds (``[limits]``): ``imap_notify_max_mailboxes`` mailboxes watched (more: ``NO
[LIMIT]``) and ``imap_notify_max_queued`` changed mailboxes or events waiting to be
sent; past it ``* OK [NOTIFICATIONOVERFLOW]`` and the session behaves as after
NOTIFY NONE (§5.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtool.errors import NotFound
from mailtool.mra.imap.session import AUTH, Done, Session, bad, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.extension_commands import Notify, NotifyGroup
from mailtool.protocol.imap.responses import ListItem, MailboxStatus, Response
from mailtool.protocol.imap.status import ResponseCode, StatusResponse

if TYPE_CHECKING:
    from mailtool.mra.imap.backend import FolderStatus

SEP = "/"
#: the events we send, as RFC 5465 §5 spells them (BADEVENT lists these)
SUPPORTED = {
    "MESSAGENEW": "MessageNew",
    "MESSAGEEXPUNGE": "MessageExpunge",
    "FLAGCHANGE": "FlagChange",
    "MAILBOXNAME": "MailboxName",
    "SUBSCRIPTIONCHANGE": "SubscriptionChange",
}
SELECTED_FILTERS = ("SELECTED", "SELECTED-DELAYED")
MESSAGE_EVENTS = frozenset(("MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"))


@dataclass(frozen=True)
class _Seen:
    """What the client was last told of a mailbox (the STATUS items we send)."""

    messages: int
    uidnext: int
    uidvalidity: int
    unseen: int
    highestmodseq: int

    @classmethod
    def of(cls, st: FolderStatus) -> _Seen:
        return cls(st.messages, st.uidnext, st.uidvalidity, st.unseen, st.highestmodseq)


def validate(groups: Iterable[NotifyGroup]) -> None:
    """RFC 5465 §3.1, §5: the rules a NOTIFY SET must follow (BAD / NO [BADEVENT])."""
    filters: set[str] = set()
    for g in groups:
        if g.filter in SELECTED_FILTERS:
            if filters & set(SELECTED_FILTERS):
                raise bad("selected and selected-delayed: one of them, once")
        elif g.filter in filters and not g.mailboxes:
            raise bad(f"{g.filter} given twice")
        filters.add(g.filter)
        events = set(g.events)
        unknown = [e for e in g.events if e not in SUPPORTED]
        if unknown:
            names = " ".join(SUPPORTED.values())
            raise no(f"Unsupported event {unknown[0]}", "BADEVENT", f"({names})")
        # RFC 5465 §5: for the selected mailbox MessageNew and MessageExpunge go together
        # and FlagChange needs them (the client could not keep sequence numbers else);
        # other mailboxes get STATUS, where any mix makes sense (Dovecot accepts it too)
        if g.filter in SELECTED_FILTERS:
            if ("MESSAGENEW" in events) != ("MESSAGEEXPUNGE" in events):
                raise bad("MessageNew and MessageExpunge must be given together")
            if "FLAGCHANGE" in events and "MESSAGENEW" not in events:
                raise bad("FlagChange needs MessageNew and MessageExpunge")
        if g.fetch and g.filter not in SELECTED_FILTERS:
            raise bad("MessageNew fetch attributes are for the selected mailbox only")
        if g.filter in SELECTED_FILTERS and events - MESSAGE_EVENTS:
            raise bad("The selected mailbox has message events only")


class NotifyState:
    """One session's NOTIFY SET: the groups, what the client was told, what changed."""

    def __init__(self, s: Session, groups: tuple[NotifyGroup, ...]) -> None:
        limits = s.config.limits
        self.max_mailboxes: int = limits.imap_notify_max_mailboxes
        self.max_queued: int = limits.imap_notify_max_queued
        self.selected = next((g for g in groups if g.filter in SELECTED_FILTERS), None)
        self.others = [g for g in groups if g.filter not in SELECTED_FILTERS]
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._all_dirty = False
        self._overflow = False
        self.seen: dict[str, _Seen | None] = {}
        wants = {e for g in self.others for e in g.events}
        assert s.mail is not None
        self.subscribed: set[str] = s.mail.subscriptions()
        self.folders: set[str] = {f.name for f in s.mail.folders()}
        self.track_names = "MAILBOXNAME" in wants
        #: the subscriptions are looked at again on changes (SUBSCRIBE notifies the store)
        self.track_subscriptions = "SUBSCRIPTIONCHANGE" in wants or any(
            g.filter == "SUBSCRIBED" for g in self.others
        )

    # ------------------------------------------------------------ matching
    def events_for(self, name: str) -> frozenset[str]:
        """The events the client asked for ``name`` (the first group that matches,
        RFC 5465 §6), none for a name no group matches."""
        return self._events(name, self.subscribed)

    def _events(self, name: str, subscribed: set[str]) -> frozenset[str]:
        for g in self.others:
            if _matches(g, name, subscribed):
                return frozenset(g.events)
        return frozenset()

    def watched(self, selected: str | None) -> list[str]:
        """Existing mailboxes some group gives message events for, but the selected."""
        return sorted(
            n for n in self.folders if n != selected and self.events_for(n) & MESSAGE_EVENTS
        )

    # --------------------------------------------------------- change marks
    def mark(self, folder: str) -> None:
        """A change to ``folder`` ("" = somewhere: another process); any thread."""
        with self._lock:
            if not folder:
                self._all_dirty = True
            elif len(self._dirty) >= self.max_queued:
                self._overflow = True
            else:
                self._dirty.add(folder)

    def _take(self) -> tuple[set[str], bool, bool]:
        with self._lock:
            dirty, everything, overflow = self._dirty, self._all_dirty, self._overflow
            self._dirty, self._all_dirty = set(), False
            return dirty, everything, overflow

    # -------------------------------------------------------------- output
    def pending(self, s: Session) -> list[Response]:
        """The untagged responses for what changed since the last call (the caller
        sends them); ``[NOTIFICATIONOVERFLOW]`` ends NOTIFY."""
        assert s.mail is not None
        dirty, everything, overflow = self._take()
        if overflow:
            return self._overflowed(s)
        out: list[Response] = []
        if self.track_names and (everything or dirty):  # a DELETE marks a known name
            out += self._name_changes(s)
        elif everything:
            self.folders = {f.name for f in s.mail.folders()}
        if self.track_subscriptions and (everything or dirty):
            out += self._subscription_changes(s)
        selected = s.selected.name if s.selected is not None else None
        names = self.watched(selected) if everything else sorted(dirty)
        for name in names:
            if name == selected:
                continue
            resp = self._status_change(s, name)
            if resp is not None:
                out.append(resp)
            if len(out) > self.max_queued or len(self.seen) > self.max_mailboxes:
                return self._overflowed(s)
        return out

    def _overflowed(self, s: Session) -> list[Response]:
        s.notify = None  # RFC 5465 §5.8: as after NOTIFY NONE
        text = "Too many events; NOTIFY is off"
        return [StatusResponse(None, "OK", text, ResponseCode("NOTIFICATIONOVERFLOW"))]

    def _status_change(self, s: Session, name: str) -> Response | None:
        events = self.events_for(name)
        if not events & MESSAGE_EVENTS:
            return None
        assert s.mail is not None
        try:
            now = _Seen.of(s.mail.status(name, deleted=False))
        except NotFound:
            self.seen.pop(name, None)
            return None
        before = self.seen.get(name)
        self.seen[name] = now
        if before == now:
            return None
        counts = before is None or (before.messages, before.uidnext, before.uidvalidity) != (
            now.messages, now.uidnext, now.uidvalidity,
        )  # fmt: skip
        # RFC 5465 §5.2-5.4: new or expunged messages change the counts, flags UNSEEN
        # (and HIGHESTMODSEQ); each is told only to a client that asked for it
        wanted = events & {"MESSAGENEW", "MESSAGEEXPUNGE"} if counts else events & {"FLAGCHANGE"}
        return status_response(s, name, now) if wanted else None

    def _name_changes(self, s: Session) -> list[Response]:
        assert s.mail is not None
        now = {f.name for f in s.mail.folders()}
        before, self.folders = self.folders, now
        out: list[Response] = []
        for name in sorted(before - now):
            self.seen.pop(name, None)
            if "MAILBOXNAME" in self.events_for(name):
                out.append(ListItem(("\\NonExistent",), SEP, name))
        for name in sorted(now - before):
            if "MAILBOXNAME" in self.events_for(name):
                out.append(ListItem((), SEP, name))
        return out

    def _subscription_changes(self, s: Session) -> list[Response]:
        assert s.mail is not None
        now = s.mail.subscriptions()
        before, self.subscribed = self.subscribed, now
        out: list[Response] = []
        for name in sorted(now ^ before):
            if "SUBSCRIPTIONCHANGE" in self.events_for(name) or (
                name in before and "SUBSCRIPTIONCHANGE" in self._events(name, before)
            ):
                attrs = ("\\Subscribed",) if name in now else ()
                out.append(ListItem(attrs, SEP, name))
        return out

    # ------------------------------------------------------ waiting for input
    async def wait(self, s: Session, read: asyncio.Future[bytes], timeout: float) -> bool:
        """Wait for ``read`` (the session's socket read) up to ``timeout`` seconds,
        sending notifications as changes come; True once ``read`` is done."""
        deadline = time.monotonic() + timeout
        while s.notify is self:
            s.changed.clear()  # before looking: a change made meanwhile wakes us again
            await push(s)
            if s.notify is not self:
                break
            waiter = asyncio.ensure_future(s.changed.wait())
            try:
                done, _ = await asyncio.wait(
                    {read, waiter},
                    timeout=max(deadline - time.monotonic(), 0),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                waiter.cancel()
            if read in done:
                return True
            if s.shutting_down:
                read.cancel()
                return True
            if waiter not in done:
                return False
        done, _ = await asyncio.wait({read}, timeout=max(deadline - time.monotonic(), 0))
        return bool(done)


def _matches(g: NotifyGroup, name: str, subscribed: set[str]) -> bool:
    if g.filter == "PERSONAL":
        return True
    if g.filter == "INBOXES":
        return name == "INBOX"
    if g.filter == "SUBSCRIBED":
        return name in subscribed
    if g.filter == "MAILBOXES":
        return name in g.mailboxes
    if g.filter == "SUBTREE":
        return any(name == m or name.startswith(m + SEP) for m in g.mailboxes)
    return False


def status_response(s: Session, name: str, seen: _Seen) -> MailboxStatus:
    items = [
        ("MESSAGES", seen.messages),
        ("UIDNEXT", seen.uidnext),
        ("UIDVALIDITY", seen.uidvalidity),
        ("UNSEEN", seen.unseen),
    ]
    if s.condstore:
        items.append(("HIGHESTMODSEQ", seen.highestmodseq))
    return MailboxStatus(name, tuple(items))


async def push(s: Session) -> None:
    """Send what changed, outside any command (RFC 5465 §3: at any time)."""
    state = s.notify
    if state is None:
        return
    group = state.selected
    if s.selected is not None and group is not None and group.events:
        before = s.selected.uids[-1] if s.selected.uids else 0
        # RFC 5465 §6: selected-delayed holds EXPUNGEs back until a command allows them
        s.send_updates(expunge_ok=group.filter == "SELECTED")
        if group.fetch and s.selected.uids and s.selected.uids[-1] > before:
            await _fetch_new(s, group, before)
    else:
        for resp in state.pending(s):
            s.send(resp)
    await s.flush()


async def _fetch_new(s: Session, group: NotifyGroup, after_uid: int) -> None:
    """RFC 5465 §5.2: MessageNew's fetch attributes, for the messages just announced."""
    from mailtool.mra.imap.fetch import fetch
    from mailtool.protocol.imap.sequence import SequenceSet

    assert s.selected is not None
    new = [u for u in s.selected.uids if u > after_uid]
    cmd = c.Fetch("*", SequenceSet.from_numbers(new), group.fetch, None, uid=True)
    with contextlib.suppress(ImapError):  # gone again meanwhile: nothing to show
        await fetch(s, cmd)


@command("NOTIFY", states=AUTH)
async def notify(s: Session, cmd: Notify) -> Done:
    if cmd.groups is None:
        s.notify = None  # RFC 5465 §3.2: NOTIFY NONE
        return ok("NOTIFY completed")
    validate(cmd.groups)
    assert s.mail is not None
    state = NotifyState(s, cmd.groups)
    selected = s.selected.name if s.selected is not None else None
    watched = state.watched(selected)
    named = {m for g in state.others for m in g.mailboxes}
    if len(watched) > state.max_mailboxes or len(named) > state.max_mailboxes:
        raise no(f"NOTIFY may watch at most {state.max_mailboxes} mailboxes", "LIMIT")
    mail = s.mail
    seen = await asyncio.to_thread(
        lambda: {n: _Seen.of(mail.status(n, deleted=False)) for n in watched}
    )
    state.seen.update(seen)
    if cmd.status:
        # RFC 5465 §3.1: STATUS of every mailbox the NOTIFY covers, now
        for name, now in seen.items():
            await s.write(status_response(s, name, now))
    s.notify = state
    return ok("NOTIFY completed")


__all__ = ["SUPPORTED", "NotifyState", "notify", "push", "status_response", "validate"]
