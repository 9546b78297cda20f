"""The mail store facade: one object per user that keeps Maildir files and the index in step.

Servers use this, not :mod:`maildir` or :mod:`index` directly::

    store = MailStore(data_dir, accounts=accounts)      # one per process
    mail = store.user("alice@a.test")                   # cached: same object for every session
    uid = mail.deliver(message_bytes)                   # MDA; QuotaExceeded when over quota
    inbox = mail.folder("INBOX")
    inbox.sync()                                        # pick up files other programs dropped
    inbox.status(); inbox.messages(); inbox.open(uid)   # SELECT / FETCH / POP3 RETR
    unsubscribe = mail.watch(callback)                  # IDLE: callback(Change) after each change

Order of writes (DESIGN principle 1): the file first (tmp -> fsync -> rename ->
fsync dir), then the index commit. A crash in between leaves a file the next
:meth:`Folder.sync` indexes with a fresh UID, or (expunge: file unlinked first)
a row sync forgets and records as expunged. Never a row without its file for
long, never a message lost or doubled.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mailtool.errors import NotFound
from mailtool.store import address as addr
from mailtool.store.groupsync import Batcher
from mailtool.store.index import (
    INDEX_FILE,
    UNDATED,
    UNSIZED,
    FolderStatus,
    Index,
    MessageInfo,
    NewMessage,
)
from mailtool.store.locks import MAILDROP_LOCK_FILE, FileLock, try_file_lock
from mailtool.store.mailbase import (
    HEADER_CHUNK,
    Change,
    Changes,
    FolderBase,
    StoreMode,
    StoreResult,
    Usage,
    UserMailBase,
    Watcher,
    header_end,
    read_header,
)
from mailtool.store.maildir import (
    DEFAULT_FOLDERS,
    FLAG_LETTERS,
    INBOX,
    Maildir,
    canonical_flag,
    flags_of_letters,
    normalize_folder,
    size_in_name,
    split_filename,
)
from mailtool.store.metadata import METADATA_FILE, Metadata
from mailtool.store.notify import ChangeNotifier
from mailtool.store.paths import DataDir
from mailtool.store.recent_moves import RecentMover, moved_name

if TYPE_CHECKING:
    from mailtool.store.interfaces import AccountStore as Accounts

log = logging.getLogger(__name__)

#: directory mtimes younger than this are not trusted to skip a rescan (timestamp granularity)
_STAMP_SETTLE_NS = 2_000_000_000
#: the flags of a file whose name has no info part
_NO_FLAGS: frozenset[str] = frozenset()
#: scans of a folder one size count may take to find files renamed while it runs
SIZE_RESCANS = 3


def crlf_size(data: bytes) -> int:
    """Size of ``data`` with every bare LF made CRLF (the form IMAP and POP3 send)."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def _crlf_size_of(fd: int, known: int, chunk: int = 1 << 20) -> int:
    """:func:`crlf_size` of an open file whose size was ``known`` (fstat), read a
    megabyte at a time (a CRLF split between two reads counted once); a small file
    is one read(2), its short read being its end."""
    size = 0
    last = b""
    want = min(known + 1, chunk)
    while data := os.read(fd, want):
        size += crlf_size(data) - (last == b"\r" and data[:1] == b"\n")
        last = data[-1:]
        if len(data) < want:
            break
        want = chunk
    return size


def _wire_size(path: str) -> tuple[int, float] | None:
    """(:func:`crlf_size`, mtime) of the file at ``path`` (one read for most), None when
    it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        return _crlf_size_of(fd, st.st_size), st.st_mtime
    finally:
        os.close(fd)


def _mtime_only(path: str) -> tuple[int, float] | None:
    """(:data:`UNSIZED`, mtime) of the file at ``path``: its date without reading it."""
    try:
        return UNSIZED, os.stat(path).st_mtime
    except FileNotFoundError:
        return None


class MailStore:
    """All users' mail under ``<data_dir>/mail``; hands out one :class:`UserMail` per user."""

    def __init__(self, data_dir: str | os.PathLike[str], *, accounts: Accounts | None = None):
        self.root = DataDir(data_dir).mail
        self.accounts = accounts
        self._users: dict[str, UserMail] = {}
        self._lock = threading.Lock()
        #: other processes' changes reach this one's watchers (IDLE) through it
        self.notifier = ChangeNotifier(self.root)

    def user(self, address: str, *, create: bool = False) -> UserMail:
        """The mail of ``address`` (NotFound if it has no Maildir, unless ``create``)."""
        local, domain = addr.split(address)
        key = f"{local}@{domain}"
        with self._lock:
            mail = self._users.get(key)
            if mail is None:
                path = self.root / domain / local
                if not (path / "cur").is_dir():
                    if not create:
                        raise NotFound(f"{key} has no mailbox")
                    Maildir(path).create()
                mail = self._users[key] = UserMail(key, path, self)
            return mail

    def close(self) -> None:
        self.notifier.close()
        with self._lock:
            for mail in self._users.values():
                mail.recent_moves.stop()  # between two batches: see recent_moves
                mail.index.close()
                mail.metadata.close()
            self._users.clear()


class UserMail(UserMailBase):
    """One user's folders: Maildir++ files plus the index, changed under one lock."""

    def __init__(self, address: str, root: Path, store: MailStore) -> None:
        self.address = address
        self.maildir = Maildir(root)
        self.index = Index(root / INDEX_FILE)
        #: IMAP METADATA entries (RFC 5464), kept with the mail: RENAME/DELETE below
        self.metadata = Metadata(root / METADATA_FILE)
        # every commit tells the other processes (mailtool.store.notify), whoever made it
        self.index.on_commit = functools.partial(store.notifier.poke, address)
        self.index.count_files = self._count_files
        self._store = store
        self._init_watchers()
        #: claimed messages' files new/ -> cur/, after the claiming SELECT answered
        self.recent_moves = RecentMover(self)
        self._data_version = 0
        #: index entries of new files, committed together when deliveries overlap
        self._index_adds: Batcher[tuple[str, NewMessage], MessageInfo] = Batcher(
            self._commit_index
        )
        #: folders delivered to before (skips the folder checks on every delivery)
        self._delivery_folders: dict[str, Folder] = {}
        self.sync_folders()

    def __repr__(self) -> str:
        return f"UserMail({self.address!r})"

    def _commit_index(
        self, items: list[tuple[str, NewMessage]]
    ) -> list[MessageInfo] | list[MessageInfo | Exception]:
        """Index entries of concurrent deliveries in one transaction; if that fails
        (a folder removed meanwhile), one by one, so only the guilty one fails."""
        try:
            return self.index.add_many(items)
        except Exception:
            if len(items) == 1:
                raise
        out: list[MessageInfo | Exception] = []
        for item in items:
            try:
                out.append(self.index.add_many([item])[0])
            except Exception as exc:
                out.append(exc)
        return out

    def _count_files(
        self, name: str, files: list[tuple[int, str, str, bool]]
    ) -> dict[int, tuple[int, float]]:
        """UID -> (CRLF size, mtime) of the ``(uid, base, path, size wanted)`` files the
        index has UNSIZED or UNDATED (:attr:`Index.count_files`): each read once where a
        size is wanted, else a stat, where the index says; a file renamed meanwhile is
        looked for where \\Recent's move puts it, then in a scan of the folder, taken again
        (at most :data:`SIZE_RESCANS` times a call) when the file moved after the last
        one: the new/ -> cur/ moves run beside this; a file gone is left out."""
        folder_dir = os.fspath(self.maildir.path(name))
        out: dict[int, tuple[int, float]] = {}
        on_disk: dict[str, str] | None = None
        scans = 0
        for uid, base, path, sized in files:
            count = _wire_size if sized else _mtime_only
            found = count(f"{folder_dir}/{path}")
            if found is None and (moved := moved_name(path, base, _NO_FLAGS)) is not None:
                found = count(f"{folder_dir}/{moved}")
            while found is None:
                if on_disk is None:
                    if scans == SIZE_RESCANS or not self.maildir.exists(name):
                        break
                    on_disk, scans = dict(self.maildir.scan(name)), scans + 1
                rel = on_disk.get(base)
                if rel is None:
                    break  # in no scan taken since it went missing: gone
                found = count(f"{folder_dir}/{rel}")
                if found is None:
                    on_disk = None  # renamed since that scan: look again
            if found is not None:
                out[uid] = found
        return out

    # ---- notifications

    def _listen(self) -> Callable[[], None]:
        """Other processes' commits (SMTP workers, the CLI) reach this one's watchers
        through the notifier (:mod:`.notify`), with kind ``external``."""
        self._data_version = self.index.data_version()
        return self._store.notifier.subscribe(self.address, self._changed_elsewhere)

    def _changed_elsewhere(self) -> None:
        """A poke for this user (the notifier's thread): tell the watchers if another
        connection committed since we last looked; our own pokes come back here too."""
        version = self.index.data_version()
        if version == self._data_version:
            return
        self._data_version = version
        self._notify("", "external", (), 0)

    # ---- POP3

    def maildrop_lock(self) -> FileLock | None:
        """RFC 1939 §8: the exclusive maildrop lock (an flock in the Maildir, see
        :mod:`.locks`), held; None when another session holds it."""
        return try_file_lock(self.maildir.root / MAILDROP_LOCK_FILE)

    # ---- folders

    def sync_folders(self) -> list[str]:
        """Make the index's folder list match the disk (folders made by mutt, Dovecot...)."""
        with self.lock:
            self._delivery_folders.clear()
            on_disk = self.maildir.folders()
            indexed = set(self.index.folder_names())
            for name in set(on_disk) - indexed:
                self.index.add_folder(name)
            for name in indexed - set(on_disk):
                self.index.remove_folder(name)
            return on_disk

    def folders(self) -> list[str]:
        """Folder names (IMAP, '/' separated), INBOX first."""
        return self.sync_folders()

    def folder(self, name: str) -> Folder:
        canonical = normalize_folder(name)
        if not self.maildir.exists(canonical):
            raise NotFound(f"folder {canonical!r} does not exist")
        if canonical not in self.index.folder_names():
            self.sync_folders()
        return Folder(self, canonical)

    def create_folder(self, name: str) -> Folder:
        """Create ``name`` and any missing parents (``a/b/c`` makes ``a`` and ``a/b``)."""
        canonical = normalize_folder(name)
        parts = canonical.split("/")
        with self.lock:
            self._delivery_folders.clear()
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if parent != INBOX and not self.maildir.exists(parent):
                    self.maildir.create_folder(parent)
                    self.index.add_folder(parent)
            self.maildir.create_folder(canonical)
            self.index.add_folder(canonical)
        self._notify(canonical, "folders", (), 0)
        return Folder(self, canonical)

    def delete_folder(self, name: str) -> None:
        canonical = normalize_folder(name)
        with self.lock:
            self._delivery_folders.clear()
            self.maildir.delete_folder(canonical)
            self.index.remove_folder(canonical)
            self.metadata.remove_mailbox(canonical)
        self._notify(canonical, "folders", (), 0)

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder and its children; renaming INBOX moves its mail (RFC 9051 §6.3.6)."""
        src, dst = normalize_folder(old), normalize_folder(new)
        with self.lock:
            self._delivery_folders.clear()
            if src == INBOX:
                inbox = self.folder(INBOX)
                target = self.create_folder(dst)
                inbox.move([m.uid for m in inbox.messages()], target.name)
            else:
                pairs = self.maildir.rename_folder(src, dst)
                self.index.rename_folders(pairs)
                self.metadata.rename_mailbox(src, dst)  # INBOX's stay: INBOX remains
        self._notify(src, "folders", (), 0)

    def subscribe(self, name: str, subscribed: bool = True) -> None:
        try:
            canonical = self.folder(name).name
        except NotFound:
            if subscribed:
                raise
            canonical = name  # a subscription that outlived its folder (RFC 9051 §6.3.8)
        self.index.set_subscribed(canonical, subscribed)
        self._notify(canonical, "subscriptions", (), 0)  # IMAP NOTIFY SubscriptionChange

    # ---- delivery and quota

    def tmp_path(self) -> str:
        """Where to spool a message before its folder takes it (a big IMAP APPEND,
        an import): :meth:`Folder.append_file` renames it in."""
        return self.maildir.tmp_path()

    def deliver(
        self,
        message: bytes | BinaryIO,
        folder: str = INBOX,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        size: int | None = None,
    ) -> int:
        """File a message (MDA); durable when it returns the new UID. ``size`` is needed for
        the quota check when ``message`` is a file."""
        target = self._delivery_folders.get(folder)
        if target is None:
            target = self._delivery_folders[folder] = self.folder(folder)
        try:
            return target.append(message, flags, internal_date, size=size).uid
        except NotFound:
            self._delivery_folders.pop(folder, None)  # deleted by another program
            raise


class Folder(FolderBase):
    """One folder of one user. Cheap to make; holds no state beyond its name."""

    def __init__(self, mail: UserMail, name: str) -> None:
        self.mail = mail
        self.name = name
        self.path = mail.maildir.path(name)
        self._dir = os.fspath(self.path)  # for the per-file paths of a sync

    def __repr__(self) -> str:
        return f"Folder({self.mail.address!r}, {self.name!r})"

    # ---- reading files

    def file_path(self, uid: int) -> Path:
        """The message file's current path (follows renames by other programs, and
        the background new/ -> cur/ move of a claimed file without a scan)."""
        info = self.message(uid)
        path = self.path / info.path
        if path.exists():
            return path
        moved = moved_name(info.path, info.base, info.flags)
        if moved is not None and (self.path / moved).exists():
            return self.path / moved  # its row is updated by the mover's batch
        rel = self.mail.maildir.find(self.name, info.base)
        if rel is None:
            raise NotFound(f"message UID {uid} in {self.name!r} is gone from disk")
        self.mail.index.set_path(self.name, uid, rel)
        return self.path / rel

    def open_message(self, info: MessageInfo) -> BinaryIO:
        """The file of a message just listed: its indexed path first (one ``open``, no
        index query), the store's look-up when another program renamed it."""
        try:
            return open(self.path / info.path, "rb")
        except FileNotFoundError:
            pass
        moved = moved_name(info.path, info.base, info.flags)  # claimed: moved to cur/
        if moved is not None:
            try:
                return open(self.path / moved, "rb")
            except FileNotFoundError:
                pass
        return self.open(info.uid)

    def read_headers(self, infos: Iterable[MessageInfo]) -> Iterator[tuple[int, bytes | None]]:
        """As :meth:`FolderBase.read_headers`, each file read through a bare descriptor on
        its indexed path: one ``open``, one ``read`` for most headers, no file object
        (``open()`` and its buffered reader were ~45 us of a first SEARCH's ~150 us a
        message); the store's look-up when another program renamed the file."""
        prefix = self._dir + os.sep
        for info in infos:
            try:
                fd = os.open(prefix + info.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                yield from super().read_headers((info,))
                continue
            try:
                data = os.read(fd, HEADER_CHUNK)
                end = header_end(data)
                if end >= 0:
                    data = data[:end]
                else:  # a long header, or none ending: read on (bounded by MAX_HEADER)
                    with open(fd, "rb", closefd=False) as fh:
                        data = read_header(fh, data)
            finally:
                os.close(fd)
            yield info.uid, data

    def open(self, uid: int) -> BinaryIO:
        """An open binary file (stream big messages; close it)."""
        try:
            return open(self.file_path(uid), "rb")
        except FileNotFoundError:  # renamed between the lookup and the open: look again
            return open(self.file_path(uid), "rb")

    # ---- writing

    def append(
        self,
        message: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        *,
        size: int | None = None,
    ) -> MessageInfo:
        """APPEND / delivery: file fsynced, then index committed, then watchers told.

        The file is durable when this returns (DESIGN principle 1), the index entry
        committed (flushed with the next reservation; see :mod:`~mailtool.store.index`);
        both are shared with concurrent deliveries: the directory fsync (``groupsync``)
        and the index commit (one transaction for every entry waiting).
        The internal date is the file's mtime unless given (no extra ``utime``).
        """
        flagset = frozenset(canonical_flag(f) for f in flags)
        if size is None and isinstance(message, bytes | bytearray):
            size = len(message)
        self.mail.check_quota(1, size or 0)
        base, rel, real_size, when = self.mail.maildir.deliver_dated(
            self.name, message, flags=flagset, internal_date=internal_date
        )
        if isinstance(message, bytes | bytearray):
            real_size = crlf_size(message)  # RFC822.SIZE: bare LFs are sent as CRLF
        return self._indexed(NewMessage(base, rel, flagset, real_size, when))

    def append_file(
        self, path: str, flags: Iterable[str] = (), internal_date: float | None = None
    ) -> MessageInfo:
        """:meth:`append` of a message already written, in CRLF form, to ``path`` (a
        name from this user's ``maildir.tmp_path()``): renamed in, not copied. On
        failure the file is left for the caller to remove."""
        flagset = frozenset(canonical_flag(f) for f in flags)
        self.mail.check_quota(1, os.path.getsize(path))
        base, rel, size, when = self.mail.maildir.deliver_file(
            self.name, path, flags=flagset, internal_date=internal_date
        )
        return self._indexed(NewMessage(base, rel, flagset, size, when))

    def _indexed(self, new: NewMessage) -> MessageInfo:
        """Commit the index entry of a durable file, then tell the watchers."""
        info = self.mail._index_adds.submit((self.name, new))
        self.mail._notify(self.name, "append", [info.uid], info.modseq)
        return info

    def store(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: StoreMode = "add",
        *,
        unchanged_since: int | None = None,
    ) -> StoreResult:
        """Change flags (RFC 9051 §6.4.6) in index and file name; RFC 7162 UNCHANGEDSINCE."""
        wanted = frozenset(canonical_flag(f) for f in flags)
        with self.mail.lock:
            changes: dict[int, tuple[frozenset[str], str]] = {}
            failed = []
            for info in self.messages(uids):
                if unchanged_since is not None and info.modseq > unchanged_since:
                    failed.append(info.uid)
                    continue
                if mode == "add":
                    new = info.flags | wanted
                elif mode == "remove":
                    new = info.flags - wanted
                else:
                    new = wanted
                if new == info.flags:
                    continue
                rel = self._rename_for_flags(info, new)
                if rel is not None:
                    changes[info.uid] = (new, rel)
            if changes:
                self.mail.maildir.sync_folder_dirs(self.name)
            changed = self.mail.index.update(self.name, changes)
        if changed:
            self.mail._notify(self.name, "flags", [m.uid for m in changed], changed[0].modseq)
        return StoreResult(changed, failed)

    def _rename_for_flags(self, info: MessageInfo, flags: frozenset[str]) -> str | None:
        rel = info.path
        if not (self.path / rel).exists():
            found = self.mail.maildir.find(self.name, info.base)
            if found is None:
                return None  # gone: the next sync records the expunge
            rel = found
        return self.mail.maildir.set_flags(self.name, rel, flags, durable=False)

    def claim_recent(self, *, peek: bool = False) -> range:
        """The UIDs that are ``\\Recent`` for the calling session (IMAP4rev1, RFC 3501
        §2.3.2: one session gets each message; Dovecot does the same), claimed in the
        index, which is all \\Recent is. ``peek``: EXAMINE. Their files move from new/
        to cur/ (seen by a client) afterwards, on the process's shared mover threads,
        without a MODSEQ change (:mod:`~mailtool.store.recent_moves`): the first SELECT
        after 20,000 files arrived answers before the 20,000 renames, which were half
        its time."""
        claimed = self.mail.index.claim_recent(self.name, peek=peek)
        if not peek:
            self.mail.recent_moves.submit(self.name, claimed.stop, claimed=bool(claimed))
        return claimed

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Remove messages flagged ``\\Deleted`` (only those among ``uids`` when given, for
        UID EXPUNGE, RFC 4315 §2.1); files first, then the index. Returns the UIDs."""
        with self.mail.lock:
            doomed = [m for m in self.messages(uids) if "\\Deleted" in m.flags]
            if not doomed:
                return []
            for info in doomed:
                self.mail.maildir.remove(self.name, info.path)
                found = self.mail.maildir.find(self.name, info.base)  # renamed meanwhile?
                if found is not None:
                    self.mail.maildir.remove(self.name, found)
            modseq = self.mail.index.remove(self.name, [m.uid for m in doomed])
        gone = [m.uid for m in doomed]
        self.mail._notify(self.name, "expunge", gone, modseq)
        return gone

    def _transfer(self, uids: Iterable[int], target: str, *, move: bool) -> dict[int, int]:
        dst = self.mail.folder(target)
        if dst.name == self.name and move:
            return {}
        with self.mail.lock:
            infos = self.messages(uids)
            if not move:
                self.mail.check_quota(len(infos), sum(m.size for m in infos))
            moves: list[tuple[int, NewMessage]] = []
            for info in infos:
                rel = info.path if (self.path / info.path).exists() else None
                rel = rel or self.mail.maildir.find(self.name, info.base)
                if rel is None:
                    continue
                base, new_rel = self.mail.maildir.copy_in(
                    self.name, rel, dst.name, info.flags, move=move
                )
                moves.append(
                    (info.uid, NewMessage(base, new_rel, info.flags, info.size, info.internal_date))
                )
            mapping = self.mail.index.transfer(self.name, dst.name, moves, remove_source=move)
        if mapping:
            modseq = dst.status().highestmodseq
            self.mail._notify(dst.name, "append", mapping.values(), modseq)
            if move:
                self.mail._notify(self.name, "expunge", mapping, self.status().highestmodseq)
        return mapping

    # ---- keeping in step with other programs

    def sync(self, *, force: bool = False, report: bool = True) -> Changes:
        """Index files other programs dropped (fresh UIDs), forget vanished ones (recorded
        as expunged), adopt flag changes made by renames. Skipped when new/ and cur/
        have not changed since the last sync, unless ``force``. ``report=False``: no
        :class:`Changes` wanted (an empty one is returned), so the sizes of the new
        files are not counted for it (see :data:`~mailtool.store.index.UNSIZED`)."""
        stamp = self._stamp()
        if not force and stamp is not None and stamp == self.mail.index.scan_stamp(self.name):
            return Changes([], [])
        with self.mail.lock:
            # rows, not MessageInfo: no size is read for this (nor counted: UNSIZED)
            known = {f[1]: f for f in self.mail.index.files(self.name)}
            on_disk = dict(self.mail.maildir.scan(self.name))
            fresh = [self._describe(b, rel) for b, rel in sorted(on_disk.items()) if b not in known]
            added = self.mail.index.add(self.name, fresh)
            gone = [
                uid
                for b, (uid, _, path, _) in known.items()
                if b not in on_disk and not os.path.exists(f"{self._dir}/{path}")
            ]
            if gone:
                self.mail.index.remove(self.name, gone)
            flagged = self._adopt_renames(known, on_disk)
            self.mail.index.set_scan_stamp(self.name, stamp)
            modseq = self.mail.index.counters(self.name)[2]
        for kind, uids in (
            ("append", [m.uid for m in added]),
            ("flags", flagged),
            ("expunge", gone),
        ):
            if uids:
                self.mail._notify(self.name, kind, uids, modseq)
        if not report:
            return Changes([], [])
        return Changes(self.messages([m.uid for m in added] + flagged), sorted(gone))

    def _adopt_renames(
        self, known: dict[str, tuple[int, str, str, frozenset[str]]], on_disk: dict[str, str]
    ) -> list[int]:
        changes = {}
        moved: list[tuple[int, str]] = []
        for base, (uid, _, path, flags) in known.items():
            rel = on_disk.get(base)
            if rel is None or rel == path:
                continue
            letters = split_filename(rel.split("/", 1)[1])[1]
            system = flags_of_letters(letters)
            keywords = {f for f in flags if f not in FLAG_LETTERS}
            new = frozenset(system | keywords)
            if new == flags:
                moved.append((uid, rel))
            else:
                changes[uid] = (new, rel)
        self.mail.index.set_paths(self.name, moved)
        self.mail.index.update(self.name, changes)
        return sorted(changes)

    def _describe(self, base: str, rel: str) -> NewMessage:
        """Index entry for a file another program dropped into the folder, from its name
        alone: no system call (the first SELECT after 20,000 files arrived made 20,000
        stats, a third of its time; Dovecot makes none either).

        The size kept is the message's size in CRLF form, what IMAP sends and
        RFC822.SIZE reports (RFC 9051 §2.2): Dovecot's ``,W=<size>`` when the name
        has it, else :data:`~mailtool.store.index.UNSIZED`, counted from the file
        by the first read that hands sizes out (its ``,S=`` is the size on disk,
        which differs when the lines end in bare LF). The internal date (the file's
        mtime) is :data:`~mailtool.store.index.UNDATED`, read the same way. A file
        gone before that is expunged by the next sync.
        """
        wire_size = size_in_name(base, "W")
        size = UNSIZED if wire_size is None else wire_size
        if ":" not in rel:  # no info part, no flags: most files dropped into new/
            return NewMessage(base, rel, _NO_FLAGS, size, UNDATED)
        letters = split_filename(rel.split("/", 1)[1])[1]
        return NewMessage(base, rel, frozenset(flags_of_letters(letters)), size, UNDATED)

    def _stamp(self) -> str | None:
        """mtimes of new/ and cur/, or None when too fresh to trust for skipping a scan."""
        try:
            times = [os.stat(self.path / d).st_mtime_ns for d in ("new", "cur")]
        except FileNotFoundError:
            return None
        if time.time_ns() - max(times) < _STAMP_SETTLE_NS:
            return None
        return f"{times[0]}:{times[1]}"


__all__ = [
    "DEFAULT_FOLDERS",
    "INBOX",
    "Change",
    "Changes",
    "Folder",
    "FolderStatus",
    "MailStore",
    "MessageInfo",
    "StoreResult",
    "Usage",
    "UserMail",
    "Watcher",
]
