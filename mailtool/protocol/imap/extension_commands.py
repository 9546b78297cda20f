"""Commands of three extensions, parsed like the base commands: COMPRESS (RFC 4978),
NOTIFY (RFC 5465) and METADATA (RFC 5464: GETMETADATA, SETMETADATA).

Kept apart from :mod:`.command_parser` (which registers :data:`EXTENSION_PARSERS`)
so each grammar sits next to its dataclasses. Names of events, filters and
options are upper-cased; mailbox names decoded as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailtool.protocol.imap.commands import Command
from mailtool.protocol.imap.fetch import FetchAttr, read_fetch_atts
from mailtool.protocol.imap.mailbox import read_mailbox
from mailtool.protocol.imap.tokenizer import Cursor

#: RFC 5465 §5: the events a client may name (upper case)
NOTIFY_EVENTS = frozenset(
    ("MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE", "ANNOTATIONCHANGE", "MAILBOXNAME",
     "SUBSCRIPTIONCHANGE", "MAILBOXMETADATACHANGE", "SERVERMETADATACHANGE")
)  # fmt: skip
#: RFC 5465 §6 filter-mailboxes
NOTIFY_FILTERS = frozenset(
    ("SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES")
)


@dataclass(frozen=True)
class Compress(Command):
    """RFC 4978 §3: ``COMPRESS mechanism``."""

    mechanism: str = "DEFLATE"


@dataclass(frozen=True)
class NotifyGroup:
    """One event group: ``(filter [mailboxes] events)``; ``events`` empty for NONE."""

    filter: str
    mailboxes: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    #: MessageNew's fetch attributes (RFC 5465 §5.2), empty when not given
    fetch: tuple[FetchAttr, ...] = ()


@dataclass(frozen=True)
class Notify(Command):
    """RFC 5465 §3: ``NOTIFY NONE`` (``groups is None``) or ``NOTIFY SET [STATUS] groups``."""

    groups: tuple[NotifyGroup, ...] | None = None
    status: bool = False


@dataclass(frozen=True)
class GetMetadata(Command):
    """RFC 5464 §4.2: ``GETMETADATA [(MAXSIZE n DEPTH d)] mailbox entries``;
    ``depth`` -1 is ``infinity``; mailbox ``""`` means the server's entries."""

    mailbox: str = ""
    entries: tuple[str, ...] = ()
    maxsize: int | None = None
    depth: int = 0


@dataclass(frozen=True)
class SetMetadata(Command):
    """RFC 5464 §4.3: ``SETMETADATA mailbox (entry value ...)``; value None removes."""

    mailbox: str = ""
    values: tuple[tuple[str, bytes | None], ...] = ()


def _compress(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> Command:
    cur.sp()
    return Compress(tag, cur.atom_upper())


def _notify(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> Command:
    cur.sp()
    if cur.try_take_ci(b"NONE"):
        return Notify(tag, None)
    cur.expect_ci(b"SET")
    status = cur.try_take_ci(b" STATUS")
    groups = []
    while cur.try_take(b" "):
        groups.append(_event_group(cur, utf8))
        cur.count()
    if not groups:
        cur.error("NOTIFY SET needs an event group")
    return Notify(tag, tuple(groups), status)


def _event_group(cur: Cursor, utf8: bool) -> NotifyGroup:
    cur.expect(b"(")
    cur.enter()
    word = cur.atom_upper()
    if word not in NOTIFY_FILTERS:
        cur.error(f"unknown NOTIFY filter {word}")
    mailboxes: tuple[str, ...] = ()
    if word in ("SUBTREE", "MAILBOXES"):
        cur.sp()
        if cur.peek() == 0x28:
            mailboxes = tuple(
                cur.paren_list(lambda x: read_mailbox(x, utf8=utf8), allow_empty=False)
            )
        else:
            mailboxes = (read_mailbox(cur, utf8=utf8),)
    cur.sp()
    events: list[str] = []
    fetch: tuple[FetchAttr, ...] = ()
    if not cur.try_take_ci(b"NONE"):
        cur.expect(b"(")
        cur.enter()
        while True:
            event = cur.atom_upper()
            events.append(event)
            cur.count()
            if event == "MESSAGENEW" and cur.startswith(b" ("):
                cur.sp()
                atts, _macro = read_fetch_atts(cur)
                fetch = tuple(atts)
            if cur.try_take(b")"):
                break
            cur.sp()
        cur.leave()
    cur.expect(b")")
    cur.leave()
    return NotifyGroup(word, mailboxes, tuple(events), fetch)


def _entry(cur: Cursor) -> str:
    return cur.astring_str()


def _getmetadata(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> Command:
    cur.sp()
    maxsize = None
    depth = 0
    if cur.peek() == 0x28:

        def option(x: Cursor) -> None:
            nonlocal maxsize, depth
            word = x.atom_upper()
            x.sp()
            if word == "MAXSIZE":
                maxsize = x.number(2**32 - 1)
            elif word == "DEPTH":
                # RFC 5464 §4.2.2: scope-opt = "DEPTH" SP ("0" / "1" / "infinity")
                if x.try_take_ci(b"INFINITY"):
                    depth = -1
                elif x.try_take(b"0"):
                    depth = 0
                elif x.try_take(b"1"):
                    depth = 1
                else:
                    x.error("DEPTH must be 0, 1 or infinity")
            else:
                x.error(f"unknown GETMETADATA option {word}")

        cur.paren_list(option, allow_empty=False)
        cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    cur.sp()
    if cur.peek() == 0x28:
        entries = tuple(cur.paren_list(_entry, allow_empty=False))
    else:
        entries = (_entry(cur),)
    return GetMetadata(tag, mailbox, entries, maxsize, depth)


def _setmetadata(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> Command:
    cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    cur.sp()

    def entry_value(x: Cursor) -> tuple[str, bytes | None]:
        entry = _entry(x)
        x.sp()
        # RFC 5464 §5: value = nstring / literal8
        value = x.literal(allow8=True) if x.startswith(b"~{") else x.nstring()
        return entry, value

    return SetMetadata(tag, mailbox, tuple(cur.paren_list(entry_value, allow_empty=False)))


EXTENSION_PARSERS: dict[str, Callable[[Cursor, str, str, bool, bool], Command]] = {
    "COMPRESS": _compress,
    "NOTIFY": _notify,
    "GETMETADATA": _getmetadata,
    "SETMETADATA": _setmetadata,
}

__all__ = [
    "EXTENSION_PARSERS",
    "NOTIFY_EVENTS",
    "NOTIFY_FILTERS",
    "Compress",
    "GetMetadata",
    "Notify",
    "NotifyGroup",
    "SetMetadata",
]
