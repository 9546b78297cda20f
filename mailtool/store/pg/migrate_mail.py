"""The mail part of ``mailtool store migrate``: every folder and message of one user, from
the data dir's Maildir + index into the PostgreSQL mail store, numbers kept.

A client that was in sync with the SQLite server stays in sync with the PostgreSQL one
(RFC 7162 §3.2.5: a QRESYNC SELECT with the old UIDVALIDITY and HIGHESTMODSEQ fetches
nothing), because everything that SELECT compares is copied as it is:

* each folder's UIDVALIDITY (set before its first message), UIDNEXT and HIGHESTMODSEQ
  (set after its last one: an import must not leave them lower than the source's, RFC
  9051 §2.3.1.1 "UIDs never reused", RFC 7162 §3.1.1 "MODSEQ never goes down");
* each message's UID, flags and keywords, internal date and MODSEQ; its bytes streamed
  from the Maildir file into the database (never read whole here).

Not copied: ``\\Recent`` (a session property; RFC 9051 dropped it) and the history of
expunged UIDs (a client in sync asks for changes after the source's HIGHESTMODSEQ, and
there are none; a client behind it gets the whole UID list from ``UID SEARCH``/QRESYNC's
"known UIDs" instead of VANISHED (EARLIER) - the RFC 7162 §3.2.5.2 fallback).

Resumable: a message whose UID the target folder already has is skipped, so a second
run after an interruption copies only what the first did not (each import is its own
committed transaction: an interrupted run leaves whole messages or none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailtool.errors import NotFound

#: advance(messages, bytes): called after each message copied or skipped
Advance = Callable[[int, int], None]


@dataclass(frozen=True)
class FolderCheck:
    """One folder after the copy: the source's and the target's numbers side by side."""

    user: str
    folder: str
    source_messages: int
    source_bytes: int
    target_messages: int
    target_bytes: int
    #: (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) on each side
    source_state: tuple[int, int, int]
    target_state: tuple[int, int, int]

    @property
    def ok(self) -> bool:
        return (
            self.source_messages == self.target_messages
            and self.source_bytes == self.target_bytes
            and self.source_state == self.target_state
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "folder": self.folder,
            "messages": [self.source_messages, self.target_messages],
            "bytes": [self.source_bytes, self.target_bytes],
            "uidvalidity_uidnext_highestmodseq": [list(self.source_state),
                                                 list(self.target_state)],
            "ok": self.ok,
        }


@dataclass
class MailCounts:
    """What the mail copy did (summed over users)."""

    folders: int = 0
    messages_copied: int = 0
    messages_skipped: int = 0
    bytes_copied: int = 0
    subscriptions: int = 0
    #: subscriptions that outlived their folder (RFC 9051 §6.3.8 allows them; the target
    #: store keeps only subscriptions of existing folders)
    subscriptions_dropped: int = 0


def folder_totals(source_user: Any) -> list[tuple[str, int, int]]:
    """(folder, messages, bytes) of each of a user's folders, after a sync: files that
    another program dropped into the Maildir get their UIDs now, so they are copied."""
    out = []
    for name in source_user.folders():
        folder = source_user.folder(name)
        folder.sync()
        status = folder.status()
        out.append((name, status.messages, status.size))
    return out


def _state(status: Any) -> tuple[int, int, int]:
    return (status.uidvalidity, status.uidnext, status.highestmodseq)


def copy_user_mail(
    source_user: Any, target_store: Any, counts: MailCounts, advance: Advance
) -> None:
    """Every folder, message and subscription of one user (see the module docstring)."""
    target_user = target_store.user(source_user.address, create=True)
    existing = set(target_user.folders())
    for name in source_user.folders():
        source = source_user.folder(name)
        status = source.status()
        if name not in existing:
            target_user.create_folder(name)
            existing = set(target_user.folders())  # parents were made too
        target = target_user.folder(name)
        # UIDVALIDITY first: the UIDs imported below are only meaningful under it
        target.set_state(uidvalidity=status.uidvalidity)
        have = {m.uid for m in target.messages()}
        for info in source.messages():
            if info.uid in have:
                counts.messages_skipped += 1
                advance(1, info.size)
                continue
            with source.open(info.uid) as fh:
                fresh = target.import_message(  # PgFolder's: no folder look-up per message
                    uid=info.uid,
                    flags=info.flags,
                    internal_date=info.internal_date,
                    modseq=info.modseq,
                    data=fh,
                )
            if fresh:
                counts.messages_copied += 1
                counts.bytes_copied += info.size
            else:  # the UID is taken there (expunged since): the check will tell
                counts.messages_skipped += 1
            advance(1, info.size)
        # last: imports may have moved them, and they must end as the source has them
        target.set_state(uidnext=status.uidnext, highestmodseq=status.highestmodseq)
        counts.folders += 1
    _drop_unwanted_defaults(source_user, target_user)
    # RFC 6154 attributes given with CREATE (USE (...)); the default folders' are implied
    for name, uses in source_user.index.special_uses().items():
        target_user.index.set_special_use(name, uses)
    subscribed = set(target_user.subscriptions())
    for name in source_user.subscriptions():
        if name in subscribed:
            continue
        try:
            target_user.subscribe(name)
            counts.subscriptions += 1
        except NotFound:
            counts.subscriptions_dropped += 1


def _drop_unwanted_defaults(source_user: Any, target_user: Any) -> None:
    """A new account gets the default folders (Sent, Drafts, Junk...); those the user
    had deleted on the old server go again, when still empty there."""
    wanted = set(source_user.folders())
    for name in set(target_user.folders()) - wanted:
        if name == "INBOX" or any(w.startswith(name + "/") for w in wanted):
            continue  # INBOX stays; a parent the copy made for a wanted child stays
        if target_user.folder(name).status().messages == 0:
            target_user.delete_folder(name)


def check_user_mail(source_user: Any, target_store: Any) -> list[FolderCheck]:
    """Each of the user's source folders against the target's (a missing target folder
    counts as empty, with state zero)."""
    try:
        target_user = target_store.user(source_user.address)
        target_names = set(target_user.folders())
    except NotFound:
        target_user, target_names = None, set()
    checks = []
    for name in source_user.folders():
        src = source_user.folder(name).status()
        if target_user is not None and name in target_names:
            dst = target_user.folder(name).status()
            got = (dst.messages, dst.size, _state(dst))
        else:
            got = (0, 0, (0, 0, 0))
        checks.append(FolderCheck(source_user.address, name, src.messages, src.size,
                                  got[0], got[1], _state(src), got[2]))
    return checks
