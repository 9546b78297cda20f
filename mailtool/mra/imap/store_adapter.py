"""The IMAP view (:class:`~mailtool.mra.imap.backend.UserMail`) over
:mod:`mailtool.store.mailstore`.

One adapter per user per process, shared by that user's sessions. Files other
programs drop into ``new/`` (or rename to change flags) are picked up by
``Folder.sync``, run at SELECT and at most every :data:`SYNC_INTERVAL` seconds
per folder when sessions poll; changes made through this process's store need
no sync, they are in the index and announced through ``watch``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import BinaryIO

from mailtool.errors import NotFound, StoreUnavailable
from mailtool.mra.imap import header_fill
from mailtool.mra.imap.backend import (
    Changes,
    FolderInfo,
    FolderStatus,
    MessageMeta,
    Quota,
    Snapshot,
)
from mailtool.mra.imap.header_fill import header_matches
from mailtool.mra.imap.headers import decoded_fields, split_fields
from mailtool.mra.imap.sort_fields import fields_of
from mailtool.store.interfaces import (
    HEADER_FIELDS,
    SPECIAL_USE,
    Change,
    MailStore,
    MessageSummary,
    MetadataStore,
)
from mailtool.store.interfaces import MailFolder as Folder
from mailtool.store.interfaces import read_header as _read_header

#: seconds between Maildir rescans of one folder triggered by polling sessions
SYNC_INTERVAL = 1.0
_MODES = {"+": "add", "-": "remove", "": "replace"}
#: folders per user whose last SELECT listing is kept (most recent first out)
SNAPSHOTS_KEPT = 4
#: a cached listing is updated in place unless more than 1/this of it changed
REFRESH_FRACTION = 8
#: header-cache rows written per index transaction while filling it
HEADER_BATCH = 5000
#: (folder, UIDVALIDITY): the header cache's rows of a folder are valid for one UIDVALIDITY
CacheKey = tuple[str, int]


class StoreUserMail:
    """:class:`~mailtool.mra.imap.backend.UserMail` backed by the shared MailStore."""

    def __init__(self, store: MailStore, user: str) -> None:
        self.user = user
        self.mail = store.user(user, create=True)
        self._store = store
        self._synced: dict[str, float] = {}
        #: folder -> (counters, snapshot): a re-SELECT of an unchanged folder (a
        #: client reconnecting, a second client) reuses the listing
        self._snapshots: dict[str, tuple[tuple[int, int, int], Snapshot]] = {}
        self._lock = threading.Lock()
        #: (folder, UIDVALIDITY) -> UIDs whose header fields the index caches
        self._headers_cached: dict[CacheKey, set[int]] = {}

    def _folder(self, name: str):  # type: ignore[no-untyped-def]
        return self.mail.folder(name)

    def _sync(self, name: str, *, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._synced.get(name, 0.0) < SYNC_INTERVAL:
                return
            self._synced[name] = now
        self._folder(name).sync(report=False)  # sizes of new files: counted when needed
        # the interval runs from the sync's end: the first sync after 20,000 files
        # arrived outlasts it, and the FETCH right after that SELECT scanned again
        with self._lock:
            self._synced[name] = time.monotonic()

    # -- folders --------------------------------------------------------------
    def folders(self) -> list[FolderInfo]:
        names = self.mail.folders()
        subscribed = set(self.mail.subscriptions())
        uses = self.mail.index.special_uses()
        out = []
        for name in names:
            use = uses.get(name) or ((SPECIAL_USE[name],) if name in SPECIAL_USE else ())
            out.append(FolderInfo(name, use, name in subscribed))
        return out

    def exists(self, name: str) -> bool:
        try:
            self._folder(name)
        except NotFound:
            return False
        except StoreUnavailable:
            raise  # NO [UNAVAILABLE] (RFC 5530), not "does not exist": the database is away
        except Exception:
            return False
        return True

    def create(self, name: str, special_use: tuple[str, ...] = ()) -> None:
        folder = self.mail.create_folder(name)
        if special_use:
            self.mail.index.set_special_use(folder.name, special_use)

    def delete(self, name: str) -> None:
        self.mail.delete_folder(name)

    def rename(self, old: str, new: str) -> None:
        self.mail.rename_folder(old, new)

    def subscriptions(self) -> set[str]:
        return set(self.mail.subscriptions())

    def subscribe(self, name: str, on: bool) -> None:
        if on and not self.exists(name):
            return
        self.mail.subscribe(name, on)  # also a subscription whose folder was deleted

    def status(self, name: str, *, deleted: bool = True) -> FolderStatus:
        """``deleted=False``: DELETED is left 0, not counted from every message's
        flags (NOTIFY's STATUS, RFC 5465, does not send it)."""
        self._sync(name)
        folder = self._folder(name)
        st = folder.status()
        n_deleted = sum(1 for m in folder.messages() if "\\Deleted" in m.flags) if deleted else 0
        return FolderStatus(
            messages=st.messages,
            unseen=st.unseen,
            uidnext=st.uidnext,
            uidvalidity=st.uidvalidity,
            highestmodseq=st.highestmodseq,
            size=st.size,
            deleted=n_deleted,
            recent=st.recent,
        )

    # -- messages -------------------------------------------------------------
    def snapshot(self, name: str) -> Snapshot:
        self._sync(name, force=True)
        folder = self._folder(name)
        # counters first: a change racing with the read shows up again in the
        # next changes() (harmlessly), never goes missing
        counters = self.mail.index.counters(folder.name)
        with self._lock:
            cached = self._snapshots.get(folder.name)
        if cached is not None and cached[0] == counters:
            return cached[1]  # nothing changed since: every row is still right
        snap = None
        if cached is not None and cached[0][0] == counters[0]:
            snap = self._refresh(folder.name, counters, cached[1])
        if snap is None:
            snap = Snapshot(*counters, self.mail.index.summaries(folder.name))
        with self._lock:
            self._snapshots.pop(folder.name, None)
            self._snapshots[folder.name] = (counters, snap)
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                self._snapshots.pop(next(iter(self._snapshots)))
        return snap

    def count(self, name: str, uids: list[int], *, sizes: bool) -> dict[int, tuple[int, float]]:
        """The store counts the sizes (``sizes``) and dates it lacks, the whole folder's
        in one batch. The listing kept for the next SELECT is dropped: it still holds
        them uncounted, and each later session would count them again (a listing of
        every UID: 0.1-0.2 s of a 20,000-message client sync)."""
        try:
            folder = self._folder(name)
            found = {m.uid: (m.size, m.internal_date)
                     for m in folder.messages(uids, sized=sizes)}  # fmt: skip
        except NotFound:
            return {}
        with self._lock:
            self._snapshots.pop(folder.name, None)
        return found

    def _refresh(self, name: str, counters: tuple[int, int, int], old: Snapshot) -> Snapshot | None:
        """The previous listing with what changed since it applied (a delivery into
        a 100,000-message folder costs the new rows, not a re-read of every row);
        None when so much changed that reading everything is cheaper."""
        changed, vanished = self.mail.index.changes_since(name, old.highestmodseq)
        if len(changed) + len(vanished) > max(len(old.messages) // REFRESH_FRACTION, 100):
            return None
        drop = {m.uid for m in changed}.union(vanished)
        kept = [m for m in old.messages if m.uid not in drop] if drop else list(old.messages)
        fresh = [MessageSummary(m.uid, m.flags, m.modseq, m.size, m.internal_date) for m in changed]
        if fresh and kept and fresh[0].uid < kept[-1].uid:
            messages = sorted(kept + fresh, key=attrgetter("uid"))  # re-flagged: interleave
        else:
            messages = kept + fresh  # only new mail: it comes after every kept UID
        return Snapshot(*counters, messages)

    def claim_recent(self, name: str, *, peek: bool = False) -> range:
        return self._folder(name).claim_recent(peek=peek)

    def changes(self, name: str, since_modseq: int) -> Changes:
        self._sync(name)
        folder = self._folder(name)
        _, uidnext, highest = self.mail.index.counters(folder.name)
        if highest <= since_modseq:
            return Changes([], [], highest, uidnext)
        ch = folder.changes_since(since_modseq)
        return Changes(list(ch.changed), list(ch.vanished), highest, uidnext)

    def read(self, name: str, uid: int) -> bytes | None:
        try:
            return self._folder(name).read_bytes(uid)
        except (NotFound, FileNotFoundError):
            return None

    def open(self, name: str, uid: int) -> BinaryIO | None:
        try:
            return self._folder(name).open(uid)
        except (NotFound, FileNotFoundError):
            return None

    def read_header(self, name: str, uid: int) -> bytes | None:
        try:
            with self._folder(name).open(uid) as fh:
                return _read_header(fh)
        except (NotFound, FileNotFoundError):
            return None

    def header_search(self, name: str, field: str, needle: str, uids: list[int]) -> set[int]:
        """UIDs whose ``field`` (one of the index's cached header fields) contains the
        case-folded ``needle``: one index scan once every message of ``uids`` is cached.
        The headers of messages not cached yet are read and matched here, and their
        rows made from the same blocks after the answer (:mod:`.header_fill`)."""
        folder = self._folder(name)
        filler = header_fill.FILLER
        filler.settle((self.user, folder.name))
        index = self.mail.index
        key, missing = self._uncached_headers(folder, uids)
        hits = set(index.header_search(folder.name, field, needle))
        if not missing:
            return hits
        later: list[tuple[int, Callable[[], None]]] = []  # started once the hits are known
        try:
            for start in range(0, len(missing), HEADER_BATCH):
                # sized=False: a dropped file's size is counted later, not read for it
                infos = folder.messages(
                    missing[start : start + HEADER_BATCH], sized=False, dated=False
                )
                blocks = list(folder.read_headers(infos))  # either backend, batched
                hits.update(u for u, header in blocks if header_matches(header, field, needle))
                fill = functools.partial(self._store_header_rows, folder, key, blocks)
                size = sum(len(header or b"") for _, header in blocks) + len(blocks) * 64
                if filler.reserve(size):
                    later.append((size, fill))
                else:  # the process's bound on blocks waiting is reached: made here
                    fill()
        except BaseException:
            for size, _ in later:
                filler.release(size)
            raise
        # the rows are made after the answer, not beside the reads above (the GIL)
        for size, fill in later:
            filler.start((self.user, folder.name), size, fill)
        return hits

    def _uncached_headers(self, folder: Folder, uids: list[int]) -> tuple[CacheKey, list[int]]:
        """(the folder's cache key, those of ``uids`` without header-cache rows)."""
        index = self.mail.index
        key = (folder.name, index.counters(folder.name)[0])
        with self._lock:
            known = self._headers_cached.get(key)
        fresh = known is None
        if known is None:
            known = set(index.header_cached_uids(folder.name))
            with self._lock:
                known = self._headers_cached.setdefault(key, known)
        missing = [u for u in uids if u not in known]
        if missing and not fresh:  # a SORT, or another process, may have cached them since
            cached = index.header_cached_uids(folder.name)
            with self._lock:
                known.update(cached)
            missing = [u for u in missing if u not in known]
        return key, missing

    def _store_header_rows(
        self, folder: Folder, key: CacheKey,
        blocks: list[tuple[int, bytes | None]],
    ) -> None:  # fmt: skip
        """Header-cache rows of ``blocks``, and SORT's rows of those without one (the
        same read makes both), in one transaction; the folder deleted meanwhile:
        nothing to keep."""
        try:
            sorted_uids = set(self.mail.index.sort_field_uids(folder.name))
        except NotFound:
            return
        rows, sorts = [], []
        for uid, header in blocks:
            pairs = split_fields(header or b"")  # the fields split once for both
            rows.append((uid, decoded_fields(header or b"", HEADER_FIELDS, pairs)))
            if header is not None and uid not in sorted_uids:
                sorts.append((uid, *fields_of(header, pairs)))
        try:
            self.mail.index.put_cached_fields(folder.name, rows, sorts)
        except NotFound:
            return
        with self._lock:
            self._headers_cached.setdefault(key, set()).update(uid for uid, _ in blocks)

    def cached_envelopes(self, name: str, uids: list[int], *, utf8: bool) -> dict[int, bytes]:
        """UID -> ENVELOPE wire bytes the index keeps (:mod:`.envelope_cache`), one query;
        none when the folder was deleted meanwhile (each message is then found gone)."""
        try:
            return self.mail.index.envelopes(self._folder(name).name, uids, utf8=utf8)
        except NotFound:
            return {}

    def read_headers(self, name: str, uids: list[int]) -> list[tuple[int, bytes | None]]:
        """``(uid, header block or None)`` of those of ``uids`` still indexed, read in
        batches (one index query, no query per message, on either backend)."""
        try:
            folder = self._folder(name)
            return list(folder.read_headers(folder.messages(uids)))
        except NotFound:
            return []

    def cache_envelopes(self, name: str, rows: list[tuple[int, bytes, bytes | None]]) -> None:
        """Keep ``(uid, UTF8=ACCEPT form, other form or None)`` rows, one transaction."""
        self.mail.index.put_envelopes(self._folder(name).name, rows)

    def append(
        self, name: str, data: bytes, flags: Iterable[str], date: dt.datetime | None
    ) -> tuple[int, int]:
        folder = self._folder(name)
        info = folder.append(data, flags, date.timestamp() if date else None)
        return self.mail.index.counters(folder.name)[0], info.uid

    def spool_path(self) -> str:
        return self.mail.tmp_path()

    def append_file(
        self, name: str, path: str, flags: Iterable[str], date: dt.datetime | None
    ) -> tuple[int, int]:
        try:
            folder = self._folder(name)
            info = folder.append_file(path, flags, date.timestamp() if date else None)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # gone after a success (renamed); removed after a failure
        return self.mail.index.counters(folder.name)[0], info.uid

    def set_flags(
        self,
        name: str,
        uids: list[int],
        mode: str,
        flags: Iterable[str],
        unchangedsince: int | None = None,
    ) -> tuple[list[MessageMeta], list[int]]:
        result = self._folder(name).store(
            uids,
            flags,
            _MODES[mode],
            unchanged_since=unchangedsince,  # type: ignore[arg-type]
        )
        return list(result.changed), list(result.failed)

    def expunge(self, name: str, uids: list[int]) -> list[int]:
        return self._folder(name).expunge(uids)

    def _transfer(
        self, name: str, uids: list[int], dest: str, *, move: bool
    ) -> tuple[int, list[tuple[int, int]]]:
        folder = self._folder(name)
        mapping = folder.move(uids, dest) if move else folder.copy(uids, dest)
        uidvalidity = self.mail.index.counters(self._folder(dest).name)[0]
        return uidvalidity, sorted(mapping.items())

    def copy(self, name: str, uids: list[int], dest: str) -> tuple[int, list[tuple[int, int]]]:
        return self._transfer(name, uids, dest, move=False)

    def move(self, name: str, uids: list[int], dest: str) -> tuple[int, list[tuple[int, int]]]:
        return self._transfer(name, uids, dest, move=True)

    def quota(self) -> Quota:
        usage = self.mail.usage()
        limits = None
        accounts = self._store.accounts
        if accounts is not None:
            try:
                limits = accounts.get_user(self.user).quota
            except NotFound:
                limits = None
        storage = getattr(limits, "storage_bytes", None)
        messages = getattr(limits, "messages", None)
        return Quota(
            storage_used_kb=(usage.bytes + 1023) // 1024,
            storage_limit_kb=None if storage is None else storage // 1024,
            messages_used=usage.messages,
            messages_limit=messages,
        )

    # -- concurrency ----------------------------------------------------------
    @property
    def metadata(self) -> MetadataStore:
        """The user's METADATA entries (RFC 5464), kept by the store."""
        return self.mail.metadata

    def watch(self, callback: Callable[[str], None]) -> Callable[[], None]:
        def on_change(change: Change) -> None:
            callback(change.folder)

        return self.mail.watch(on_change)


__all__ = ["StoreUserMail"]
