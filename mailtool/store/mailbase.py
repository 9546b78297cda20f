"""What the mail store's two backends share: the value types their methods return and
the methods that are the same over either index.

:mod:`mailtool.store.mailstore` (SQLite index + Maildir files) and
:mod:`mailtool.store.pg.mailstore` (PostgreSQL) subclass :class:`UserMailBase` and
:class:`FolderBase`; each supplies ``index`` (the same method names on both: ``status``,
``messages``, ``changes_since``, ``totals``, ``subscribed``...), ``_store`` (its store,
with ``accounts``), ``_listen`` (how changes made elsewhere reach this process) and the
writes. The value types are re-exported by both modules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from mailtool.errors import NotFound, QuotaExceeded
from mailtool.store.index import FolderStatus, MessageInfo

log = logging.getLogger(__name__)

StoreMode = Literal["add", "remove", "replace"]
#: bytes read at a time when only a message's header block is wanted (most fit in one)
HEADER_CHUNK = 16384
#: a header block is read this far at most: a longer one is cut there (a bounded cost
#: for SEARCH and SORT whatever a message claims)
MAX_HEADER = 256 * 1024


def header_end(data: bytes) -> int:
    """Index just past the empty line ending the header in ``data``, -1 if not there."""
    if data.startswith((b"\r\n", b"\n")):
        return 2 if data.startswith(b"\r\n") else 1
    crlf = data.find(b"\r\n\r\n")
    # an LF LF ends it sooner only before the CRLF CRLF: not searched past it (a CRLF
    # message has none, and scanning the rest of it was most of this function's time)
    lf = data.find(b"\n\n", 0, len(data) if crlf < 0 else crlf)
    if lf >= 0:
        return lf + 2
    return -1 if crlf < 0 else crlf + 4


def read_header(fh: BinaryIO, data: bytes = b"") -> bytes:
    """The header block of an open message (up to and including the empty line; the
    whole message when it has no body), read past ``data`` (what was read already)
    :data:`HEADER_CHUNK` bytes at a time, at most :data:`MAX_HEADER` bytes."""
    while True:
        end = header_end(data)
        if end >= 0:
            return data[:end]
        if len(data) >= MAX_HEADER:
            return data[:MAX_HEADER]
        chunk = fh.read(HEADER_CHUNK)
        if not chunk:
            return data
        data += chunk


@dataclass(frozen=True)
class Change:
    """What a watcher is told: ``kind`` is append, flags, expunge or folders; or
    external (another process committed something: ``folder`` is empty)."""

    folder: str
    kind: str
    uids: tuple[int, ...]
    modseq: int


@dataclass(frozen=True)
class Usage:
    messages: int
    bytes: int


@dataclass(frozen=True)
class StoreResult:
    """STORE's outcome: messages whose flags changed, UIDs refused by UNCHANGEDSINCE."""

    changed: list[MessageInfo]
    failed: list[int]


@dataclass(frozen=True)
class Changes:
    """CONDSTORE/QRESYNC: changed messages and vanished UIDs since a MODSEQ."""

    changed: list[MessageInfo]
    vanished: list[int]


Watcher = Callable[[Change], None]


class UserMailBase:
    """Watchers, quota and subscriptions of one user's mail, over ``self.index``."""

    address: str
    index: Any
    _store: Any

    def _init_watchers(self) -> None:
        self._watchers: list[Watcher] = []
        self._unsubscribe: Callable[[], None] | None = None
        self.lock = threading.RLock()

    def _listen(self) -> Callable[[], None]:
        """Start hearing changes other processes (nodes) commit; returns the stop."""
        raise NotImplementedError

    def watch(self, callback: Watcher) -> Callable[[], None]:
        """Call ``callback(Change)`` after every change; returns unwatch.

        Changes made in this process: called synchronously in the thread that made
        the change, with what changed. Changes committed by another process or node:
        called in the notifier's thread (kind ``external`` and no folder when it could
        not say what changed: look with ``changes_since``). Either way an asyncio
        server should hand it to its loop (``loop.call_soon_threadsafe``).
        """
        with self.lock:
            self._watchers.append(callback)
            first = self._unsubscribe is None
            if first:
                self._unsubscribe = lambda: None  # taken; the real one below
        if first:
            unsubscribe = self._listen()
            with self.lock:
                self._unsubscribe = unsubscribe

        def unwatch() -> None:
            with self.lock:
                if callback in self._watchers:
                    self._watchers.remove(callback)
                if self._watchers or self._unsubscribe is None:
                    return
                unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()

        return unwatch

    def _notify(self, folder: str, kind: str, uids: Iterable[int], modseq: int) -> None:
        change = Change(folder, kind, tuple(uids), modseq)
        for callback in list(self._watchers):
            try:
                callback(change)
            except Exception:
                log.exception("mail store watcher failed")

    def subscriptions(self) -> list[str]:
        return list(self.index.subscribed())

    def usage(self) -> Usage:
        """Messages and bytes over all folders, from the index (no message is read)."""
        return Usage(*self.index.totals())

    def check_quota(self, extra_messages: int, extra_bytes: int) -> None:
        """Raise QuotaExceeded if adding this much would pass the user's limits (RFC 9208)."""
        accounts = self._store.accounts
        if accounts is None:
            return
        try:
            quota = accounts.get_user(self.address).quota
        except NotFound:
            return
        if quota.messages is None and quota.storage_bytes is None:
            return  # unlimited: skip summing every message of the user
        used = self.usage()
        if quota.messages is not None and used.messages + extra_messages > quota.messages:
            raise QuotaExceeded(f"{self.address} is over the message quota ({quota.messages})")
        if quota.storage_bytes is not None and used.bytes + extra_bytes > quota.storage_bytes:
            raise QuotaExceeded(
                f"{self.address} is over the storage quota ({quota.storage_bytes} bytes)"
            )


class FolderBase:
    """The reads of one folder over its user's index, and COPY/MOVE's two faces."""

    mail: Any
    name: str

    def status(self) -> FolderStatus:
        return self.mail.index.status(self.name)  # type: ignore[no-any-return]

    def messages(
        self, uids: Iterable[int] | None = None, *, sized: bool = True, dated: bool = True
    ) -> list[MessageInfo]:
        """Messages in UID order (all, or the existing ones among ``uids``); ``sized=False``:
        sizes not counted yet stay -1 (``Index.messages``), for a reader of the files;
        ``dated=False`` too: dates not read yet stay ``UNDATED``."""
        return self.mail.index.messages(self.name, uids, sized=sized, dated=dated)  # type: ignore[no-any-return]

    def message(self, uid: int) -> MessageInfo:
        found = self.messages([uid])
        if not found:
            raise NotFound(f"no message with UID {uid} in {self.name!r}")
        return found[0]

    def changes_since(self, modseq: int) -> Changes:
        return Changes(*self.mail.index.changes_since(self.name, modseq))

    def open(self, uid: int) -> Any:
        raise NotImplementedError

    def open_message(self, info: MessageInfo) -> BinaryIO:
        """The body of a message just listed (``info`` from :meth:`messages`)."""
        return self.open(info.uid)  # type: ignore[no-any-return]

    def read_headers(self, infos: Iterable[MessageInfo]) -> Iterator[tuple[int, bytes | None]]:
        """``(uid, header block)`` of each message listed in ``infos``, in order (SEARCH
        and SORT fill their caches from it); None for a message gone meanwhile."""
        for info in infos:
            try:
                with self.open_message(info) as fh:
                    yield info.uid, read_header(fh)
            except (NotFound, FileNotFoundError):
                yield info.uid, None

    def read_bytes(self, uid: int) -> bytes:
        with self.open(uid) as fh:
            return fh.read()  # type: ignore[no-any-return]

    def copy(self, uids: Iterable[int], target: str) -> dict[int, int]:
        """COPY: flags and internal date kept, new UIDs in ``target`` (source -> target UID)."""
        return self._transfer(uids, target, move=False)

    def move(self, uids: Iterable[int], target: str) -> dict[int, int]:
        """MOVE (RFC 6851): into ``target``, and the source UIDs expunged."""
        return self._transfer(uids, target, move=True)

    def _transfer(self, uids: Iterable[int], target: str, *, move: bool) -> dict[int, int]:
        raise NotImplementedError


__all__ = [
    "HEADER_CHUNK",
    "MAX_HEADER",
    "Change",
    "Changes",
    "FolderBase",
    "StoreMode",
    "StoreResult",
    "Usage",
    "UserMailBase",
    "Watcher",
    "header_end",
    "read_header",
]
