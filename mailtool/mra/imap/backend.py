"""What the IMAP server needs from the mail store, as one narrow interface.

The command modules talk to a :class:`UserMail` (one per authenticated user)
and never to SQLite or Maildir directly: the IMAP semantics (sequence numbers,
pending untagged updates) live in :mod:`.selected`, persistence lives in
:mod:`mailtool.store`, and :mod:`.store_adapter` maps one onto the other.

Every method is synchronous (the store is SQLite + files); a method that may
take long (APPEND's fsync, COPY of many files) is run in a worker thread by
the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

from mailtool.store.interfaces import UNDATED

if TYPE_CHECKING:
    from mailtool.store.interfaces import MetadataStore as Metadata

#: RFC 9051 §2.3.2 system flags a client may set (\Recent is session-only)
SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
#: RFC 6154 special-use attributes we know
SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")


class MessageMeta(Protocol):
    """What the index knows of a message without opening its file (the store's
    rows have exactly these attributes, so they pass through unconverted: a
    SELECT of 100,000 messages makes no second object per message)."""

    @property
    def uid(self) -> int: ...
    @property
    def flags(self) -> frozenset[str]: ...
    @property
    def modseq(self) -> int: ...
    @property
    def size(self) -> int:
        """RFC822.SIZE; in a :class:`Snapshot`, negative while not counted yet
        (``Snapshot.unsized``): the session asks :meth:`UserMail.count` first."""
        ...

    @property
    def internal_date(self) -> float:
        """Seconds since the epoch; in a :class:`Snapshot`, ``UNDATED`` while not read
        yet (``Snapshot.undated``): the session asks :meth:`UserMail.count` first."""
        ...


def internal_datetime(meta: MessageMeta) -> dt.datetime:
    """INTERNALDATE as an aware datetime (UTC)."""
    return dt.datetime.fromtimestamp(meta.internal_date, dt.UTC)


@dataclass(frozen=True)
class FolderInfo:
    """One folder of a user, for LIST."""

    name: str  # "/"-separated, "INBOX" for the inbox
    special_use: tuple[str, ...] = ()
    subscribed: bool = False


@dataclass(frozen=True)
class FolderStatus:
    """Counts from the index (RFC 9051 §6.3.11 STATUS items)."""

    messages: int
    unseen: int
    uidnext: int
    uidvalidity: int
    highestmodseq: int
    size: int
    deleted: int
    recent: int = 0


@dataclass(frozen=True)
class Snapshot:
    """A folder opened for SELECT: every message's metadata, ascending UID.
    Shared between sessions: never mutate ``messages`` nor the views built from
    it once (``uids``, ``by_uid``, ``keywords``), which each session copies."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: Sequence[MessageMeta]
    uids: list[int] = field(init=False, repr=False, compare=False)
    by_uid: dict[int, MessageMeta] = field(init=False, repr=False, compare=False)
    #: keywords (non-system flags) in use
    keywords: frozenset[str] = field(init=False, repr=False, compare=False)
    #: UIDs whose size the store has not counted yet (files another program dropped,
    #: see mailtool.store.index.UNSIZED): negative until :meth:`UserMail.count`
    unsized: tuple[int, ...] = field(init=False, repr=False, compare=False)
    #: UIDs whose internal date the store has not read yet (the same files, see
    #: mailtool.store.index.UNDATED): ``UNDATED`` until :meth:`UserMail.count`
    undated: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        uids = [m.uid for m in self.messages]
        object.__setattr__(self, "uids", uids)
        object.__setattr__(self, "unsized", tuple(m.uid for m in self.messages if m.size < 0))
        undated = tuple(m.uid for m in self.messages if m.internal_date == UNDATED)
        object.__setattr__(self, "undated", undated)
        object.__setattr__(self, "by_uid", dict(zip(uids, self.messages, strict=True)))
        distinct = {m.flags for m in self.messages}  # few: the store shares equal sets
        kw = frozenset(f for flags in distinct for f in flags if f[:1] != "\\")
        object.__setattr__(self, "keywords", kw)


@dataclass(frozen=True)
class Changes:
    """What changed in a folder since a MODSEQ (RFC 7162 §3.1)."""

    changed: list[MessageMeta]  # new or re-flagged, ascending UID
    vanished: list[int]  # expunged UIDs
    highestmodseq: int
    uidnext: int


@dataclass(frozen=True)
class Quota:
    """RFC 9208: usage and limits, None when unlimited."""

    storage_used_kb: int
    storage_limit_kb: int | None
    messages_used: int
    messages_limit: int | None


class UserMail(Protocol):
    """One user's mailboxes, as IMAP needs them."""

    user: str

    # -- folders --------------------------------------------------------------
    def folders(self) -> list[FolderInfo]: ...
    def exists(self, name: str) -> bool: ...
    def create(self, name: str, special_use: tuple[str, ...] = ()) -> None: ...
    def delete(self, name: str) -> None: ...
    def rename(self, old: str, new: str) -> None: ...
    def subscriptions(self) -> set[str]: ...
    def subscribe(self, name: str, on: bool) -> None: ...
    def status(self, name: str, *, deleted: bool = True) -> FolderStatus:
        """``deleted=False``: DELETED left 0 (not counted from every message's flags)."""
        ...

    # -- messages -------------------------------------------------------------
    def snapshot(self, name: str) -> Snapshot: ...
    def count(self, name: str, uids: list[int], *, sizes: bool) -> dict[int, tuple[int, float]]:
        """UID -> (RFC822.SIZE, internal date) of those of ``uids`` still in the folder,
        counted by the store if it had not yet (one batch): for ``Snapshot.unsized`` and
        ``Snapshot.undated``. ``sizes=False``: dates only (a stat, not a read, of each
        file), sizes not counted yet stay negative."""
        ...

    def changes(self, name: str, since_modseq: int) -> Changes: ...
    def read(self, name: str, uid: int) -> bytes | None: ...
    def read_header(self, name: str, uid: int) -> bytes | None:
        """The header block only (up to and including the empty line)."""
        ...

    def open(self, name: str, uid: int) -> BinaryIO | None:
        """The message file, open for reading (FETCH streams it); None when gone."""
        ...

    def append(
        self, name: str, data: bytes, flags: Iterable[str], date: dt.datetime | None
    ) -> tuple[int, int]: ...
    def spool_path(self) -> str:
        """A new file name in the user's Maildir ``tmp/`` for a big APPEND to be
        written to as it arrives (same file system: :meth:`append_file` renames it)."""
        ...

    def append_file(
        self, name: str, path: str, flags: Iterable[str], date: dt.datetime | None
    ) -> tuple[int, int]:
        """:meth:`append` of the message in file ``path`` (from :meth:`spool_path`,
        CRLF already): fsynced, then moved into the folder. The file is gone after,
        whether it succeeded or not."""
        ...

    def set_flags(
        self,
        name: str,
        uids: list[int],
        mode: str,
        flags: Iterable[str],
        unchangedsince: int | None = None,
    ) -> tuple[list[MessageMeta], list[int]]: ...
    def expunge(self, name: str, uids: list[int]) -> list[int]: ...
    def claim_recent(self, name: str, *, peek: bool = False) -> range:
        """UIDs that are ``\\Recent`` for this session (RFC 3501 §2.3.2): each goes to
        one session only; ``peek`` (EXAMINE) does not take them."""
        ...

    def copy(self, name: str, uids: list[int], dest: str) -> tuple[int, list[tuple[int, int]]]: ...
    def move(self, name: str, uids: list[int], dest: str) -> tuple[int, list[tuple[int, int]]]: ...
    def quota(self) -> Quota: ...

    @property
    def metadata(self) -> Metadata:
        """The user's METADATA entries (RFC 5464)."""
        ...

    # -- concurrency ----------------------------------------------------------
    def watch(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(folder)`` after any change to this user's mail;
        returns the function that stops watching."""
        ...


__all__ = [
    "SPECIAL_USES",
    "SYSTEM_FLAGS",
    "Changes",
    "FolderInfo",
    "FolderStatus",
    "MessageMeta",
    "Quota",
    "Snapshot",
    "UserMail",
    "internal_datetime",
]
