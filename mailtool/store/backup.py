"""A consistent copy of a running server's data dir, and bringing it back.

``mailtool backup DEST`` may run while ``serve`` delivers, expunges and renames. The copy
is made in an order where every message is wholly in it (file and index row) or not at
all, and every message acknowledged before the backup started is in it once:

1. **Databases outside the Maildirs** (``accounts.db`` and any other SQLite file): the
   SQLite online backup API (``sqlite3.Connection.backup``), a snapshot of one committed
   state; WAL readers never block the server's writers. ``-wal``/``-shm`` files are not
   copied: the snapshot holds their committed pages.
2. **The queue** (``<id>.q`` entries, then their ``.state`` files, then ``inflight/``):
   before the mail, so an entry the server delivers and removes meanwhile is in the mail
   copy made afterwards. One still queued in the copy whose delivery is also in the copy
   is not delivered twice: at start-up the queue runner looks for its queue id in the
   recipient's folders (:mod:`mailtool.mta.queue_runner`). Remote recipients relayed
   during the backup may get a second copy after a restore.
3. **Each user's Maildir**: the index (``mailtool-index.sqlite``) and the METADATA
   database are snapshotted first; then every file a row names is linked at the path the
   row gives (found by its base name when a flag change renamed it since: Maildir files
   never change content), so the copy is the snapshot exactly and a client in sync with
   it stays in sync (RFC 7162 §3.2.5: a QRESYNC SELECT fetches nothing). Message files
   without a row in the snapshot (delivered, copied or moved after it) are linked under
   their current names: a restored server's first sync of the folder (every SELECT, POP3
   login and the queue runner's start-up) gives them fresh UIDs, as it does for files
   mutt drops in. A row whose file was expunged after the snapshot has nothing to link;
   that first sync records it as expunged (VANISHED for QRESYNC clients). ``tmp/``
   contents (writes in flight) are skipped.
4. **Everything else** (sieve scripts and their state, DKIM keys, TLS and ACME files,
   settings): copied, SQLite files among them through the backup API. ``run/`` (the
   running process's sockets, listener list and ownership stamp) is skipped.

Message and queue files are hard-linked when ``DEST`` is on the data dir's file system
(they are never rewritten in place: flag changes and state changes are renames), else
copied and fsynced. ``DEST/mailtool-backup.json`` is written last: a backup without it
is incomplete and :func:`restore` refuses it.

:func:`restore` copies a backup into an empty data dir (or, with ``force``, one whose
contents it first removes), files 0600 and directories 0700 (DESIGN principle 7); as
root the CLI then hands the tree to the service user (:mod:`mailtool.privsep`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mailtool import __version__
from mailtool.errors import MailtoolError, StoreError
from mailtool.store.index import INDEX_FILE
from mailtool.store.maildir import Maildir, split_filename
from mailtool.store.paths import DataDir

#: written last into a backup; its presence says the backup is complete
MANIFEST = "mailtool-backup.json"
MANIFEST_FORMAT = 1
#: the first bytes of every SQLite 3 database file
SQLITE_MAGIC = b"SQLite format 3\x00"
#: files SQLite keeps beside a database; their committed content is in the snapshot
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
#: top-level entries of the data dir that belong to the running process, not to the data
SKIPPED_TOP = frozenset({"run"})
#: how long a snapshot waits for a writer's lock before giving up (milliseconds)
BUSY_TIMEOUT_MS = 30_000
#: the progress callback is called once per this many files
PROGRESS_EVERY = 256
#: bytes copied per read when a file cannot be linked
COPY_CHUNK = 1 << 20

#: progress(phase, done, total): called as work is done, for a progress bar
Progress = Callable[[str, int, int], None]


@dataclass
class Summary:
    """What a backup or restore did (``--json`` prints it)."""

    source: str
    destination: str
    databases: int = 0
    linked: int = 0
    copied: int = 0
    bytes_copied: int = 0
    users: int = 0
    queue_entries: int = 0
    #: rows of a snapshot whose file was expunged before it could be linked
    missing_files: int = 0
    #: message files linked that no index row named (indexed by the restored server)
    unindexed_files: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class BackupError(MailtoolError):
    """A backup or restore that cannot be made (bad destination, incomplete backup)."""


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _is_side_file(name: str) -> bool:
    return name.endswith(SQLITE_SIDE_FILES)


def snapshot_sqlite(src: Path, dst: Path) -> None:
    """One committed state of ``src`` into a new file ``dst`` (SQLite online backup API)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(src, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            target = sqlite3.connect(dst)
            try:
                source.backup(target)  # all pages in one step: one consistent snapshot
                # one self-contained file (no -wal beside it); the store turns WAL back on
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {src}: {exc}") from exc
    _fsync_file(dst)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dirs(root: Path) -> None:
    """Every directory under ``root``, deepest first, then ``root`` itself."""
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        fd = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def copy_file(src: Path, dst: Path) -> int:
    """Copy ``src`` to a new ``dst`` (mode 0600), fsynced; returns the bytes copied."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    size = 0
    with open(src, "rb") as fin, os.fdopen(os.open(dst, flags, 0o600), "wb") as fout:
        while chunk := fin.read(COPY_CHUNK):
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    st = os.stat(src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))  # Maildir: mtime is INTERNALDATE
    return size


class _Copier:
    """Hard link when the file systems allow it, else copy; counts into the summary."""

    def __init__(self, summary: Summary, *, link: bool, progress: Progress = _no_progress):
        self.summary = summary
        self.link = link
        self.progress = progress

    def put(self, src: Path, dst: Path, *, linkable: bool = True) -> bool:
        """Place ``src`` at ``dst``; False when ``src`` vanished meanwhile."""
        done = self.summary.linked + self.summary.copied
        if done % PROGRESS_EVERY == 0:
            self.progress("files", done, 0)  # total 0: not known in advance
        dst.parent.mkdir(parents=True, exist_ok=True)
        if linkable and self.link:
            try:
                os.link(src, dst, follow_symlinks=False)
                self.summary.linked += 1
                return True
            except FileNotFoundError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                self.link = False  # another file system: copy from now on
        try:
            self.summary.bytes_copied += copy_file(src, dst)
        except FileNotFoundError:
            return False
        self.summary.copied += 1
        return True


def _files(root: Path) -> Iterator[Path]:
    """Regular files under ``root``, never following a symbolic link."""
    for dirpath, _dirs, names in os.walk(root, followlinks=False):
        for name in sorted(names):
            path = Path(dirpath) / name
            with _ignore_vanished():
                if stat.S_ISREG(os.lstat(path).st_mode):
                    yield path


class _ignore_vanished:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> bool:
        return kind is not None and issubclass(kind, FileNotFoundError)


def _maildir_roots(mail: Path) -> list[Path]:
    """Each user's Maildir: ``mail/<domain>/<local>`` holding an index or ``cur/``."""
    if not mail.is_dir():
        return []
    return sorted(
        user
        for domain in mail.iterdir()
        if domain.is_dir() and not domain.is_symlink()
        for user in domain.iterdir()
        if user.is_dir() and ((user / INDEX_FILE).exists() or (user / "cur").is_dir())
    )


def _check_destination(dest: Path, data_dir: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    if dest.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"{dest} is inside the data dir {data_dir}")


def backup(data_dir: Path, dest: Path, progress: Progress | None = None) -> Summary:
    """Copy the data dir ``data_dir`` (a server may be running on it) into ``dest``, a new
    or empty directory; see the module docstring for the order that keeps it consistent."""
    data_dir, dest = Path(data_dir), Path(dest)
    report = progress or _no_progress
    paths = DataDir(data_dir)
    if not paths.accounts_db.exists() and not paths.mail.is_dir():
        raise BackupError(f"{data_dir} is not a mailtool data dir (no accounts.db, no mail/)")
    _check_destination(dest, data_dir)
    old_umask = os.umask(0o077)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        summary = Summary(str(data_dir), str(dest))
        link = os.stat(data_dir).st_dev == os.stat(dest).st_dev
        copier = _Copier(summary, link=link, progress=report)
        top = [p for p in sorted(data_dir.iterdir()) if p.name not in SKIPPED_TOP]
        summary.skipped = sorted(p.name for p in data_dir.iterdir() if p.name in SKIPPED_TOP)
        # 1. databases at the top (accounts.db: the users exist before their mailboxes)
        for path in top:
            if path.is_file() and not path.is_symlink() and is_sqlite(path):
                snapshot_sqlite(path, dest / path.name)
                summary.databases += 1
        # 2. the queue, 3. the mail, 4. the rest
        if paths.queue.is_dir():
            _backup_queue(paths.queue, DataDir(dest).queue, copier, report)
        roots = _maildir_roots(paths.mail)
        for n, root in enumerate(roots):
            report("mail", n, len(roots))
            _backup_maildir(root, dest / root.relative_to(data_dir), copier)
            summary.users += 1
        report("mail", len(roots), len(roots))
        user_roots = {r.relative_to(data_dir) for r in roots}
        for path in top:
            if path.is_dir() and not path.is_symlink() and path != paths.queue:
                _backup_tree(path, data_dir, dest, user_roots, copier)
            elif _plain_top_file(path):
                copier.put(path, dest / path.name, linkable=False)
        report("files", summary.linked + summary.copied, summary.linked + summary.copied)
        summary.seconds = round(time.monotonic() - started, 3)
        _fsync_dirs(dest)
        _write_manifest(dest, summary)
    finally:
        os.umask(old_umask)
    return summary


def _plain_top_file(path: Path) -> bool:
    """A file at the top of the data dir that is no database (those are snapshotted)."""
    if not path.is_file() or path.is_symlink() or _is_side_file(path.name):
        return False
    return not is_sqlite(path)


def _backup_queue(queue: Path, dest: Path, copier: _Copier, report: Progress) -> None:
    """Entries first, then state files (a state file without its entry is removed at
    start-up, an entry without its state is all pending), then ``inflight/``."""
    entries = sorted(p for p in queue.glob("*.q") if p.is_file())
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "tmp").mkdir(exist_ok=True)
    for n, path in enumerate(entries):
        if copier.put(path, dest / path.name):
            copier.summary.queue_entries += 1
        report("queue", n + 1, len(entries))
    for path in sorted(p for p in queue.iterdir() if p.is_file() and p.suffix != ".q"):
        copier.put(path, dest / path.name, linkable=False)
    for sub in sorted(p for p in queue.iterdir() if p.is_dir() and p.name != "tmp"):
        for path in _files(sub):
            copier.put(path, dest / path.relative_to(queue), linkable=False)


def _index_rows(index_copy: Path) -> list[tuple[str, str, str]]:
    """(folder, base, path) of every message in a snapshot of an index."""
    conn = sqlite3.connect(f"file:{index_copy}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT f.name, m.base, m.path FROM messages m JOIN folders f ON f.id = m.folder_id"
        ).fetchall()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the index snapshot {index_copy}: {exc}") from exc
    finally:
        conn.close()


def _backup_maildir(root: Path, dest: Path, copier: _Copier) -> None:
    """Snapshot the user's databases, link what the index names, then the rest."""
    for dirpath, dirs, _names in os.walk(root, followlinks=False):  # empty folders too
        dirs[:] = [] if Path(dirpath).name == "tmp" else dirs
        (dest / Path(dirpath).relative_to(root)).mkdir(parents=True, exist_ok=True)
    databases = [p for p in sorted(root.iterdir()) if p.is_file() and is_sqlite(p)]
    for path in databases:
        snapshot_sqlite(path, dest / path.name)
        copier.summary.databases += 1
    rows = _index_rows(dest / INDEX_FILE) if (dest / INDEX_FILE).exists() else []
    maildir = Maildir(root)
    placed: set[tuple[Path, str]] = set()  # (folder dir, base) already in the copy
    scans: dict[str, dict[str, str]] = {}
    for folder, base, rel in rows:
        folder_dir = maildir.path(folder)
        target = dest / folder_dir.relative_to(root) / rel
        if copier.put(folder_dir / rel, target):
            placed.add((folder_dir, base))
            continue
        if folder not in scans:  # renamed since the snapshot (flags, new/ -> cur/)
            scans[folder] = dict(maildir.scan(folder)) if maildir.exists(folder) else {}
        now = scans[folder].get(base)
        if now is not None and copier.put(folder_dir / now, target):
            placed.add((folder_dir, base))
        else:
            copier.summary.missing_files += 1  # expunged since: the restored sync says so
    for path in _files(root):
        rel = path.relative_to(root)
        if "tmp" in rel.parts[:-1] or (path.parent == root and path in databases):
            continue  # writes in flight (and expunged folders on their way out); snapshots
        if _is_side_file(path.name):
            continue
        if path.parent.name in ("cur", "new"):
            base = split_filename(path.name)[0]
            if (path.parent.parent, base) in placed:
                continue
            if copier.put(path, dest / rel):
                copier.summary.unindexed_files += 1
        else:
            copier.put(path, dest / rel, linkable=False)  # subscriptions, dovecot-uidlist...


def _backup_tree(
    src: Path, data_dir: Path, dest_root: Path, skip: set[Path], copier: _Copier
) -> None:
    """Copy a directory tree (SQLite files by snapshot), leaving out the Maildirs done."""
    for dirpath, dirnames, names in os.walk(src, followlinks=False):
        here = Path(dirpath)
        rel_here = here.relative_to(data_dir)
        dirnames[:] = sorted(d for d in dirnames if rel_here / d not in skip)
        (dest_root / rel_here).mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            path = here / name
            with _ignore_vanished():
                if not stat.S_ISREG(os.lstat(path).st_mode) or _is_side_file(name):
                    continue
                if is_sqlite(path):
                    snapshot_sqlite(path, dest_root / rel_here / name)
                    copier.summary.databases += 1
                else:
                    copier.put(path, dest_root / rel_here / name, linkable=False)


def _write_manifest(dest: Path, summary: Summary) -> None:
    data = {"format": MANIFEST_FORMAT, "mailtool": __version__, "created": time.time(),
            "summary": summary.as_dict()}  # fmt: skip
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    _fsync_file(tmp)
    os.replace(tmp, dest / MANIFEST)
    _fsync_dirs(dest)


def read_manifest(src: Path) -> dict[str, object]:
    """The manifest of a complete backup (BackupError when missing or unreadable)."""
    try:
        data = json.loads((Path(src) / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} is not a complete mailtool backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {Path(src) / MANIFEST}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{src}: backup format {data.get('format')!r} is not {MANIFEST_FORMAT}")
    return data


def _forget_boot(index: Path) -> None:
    """A restore rolls a mailbox back to its snapshot, while clients may have seen UIDs and
    MODSEQs the live server handed out after it: those must never name other messages
    (RFC 9051 §2.3.1.1, RFC 7162 §3.1.2.1). They all lie below the folder's reservations
    (see :mod:`mailtool.store.index`), so the restored index is made to look as if the
    machine had rebooted: its first open moves UIDNEXT and HIGHESTMODSEQ past them."""
    try:
        conn = sqlite3.connect(index)
        try:
            with conn:
                conn.execute("DELETE FROM meta WHERE key = 'boot_id'")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot prepare the restored index {index}: {exc}") from exc


def restore(
    src: Path, data_dir: Path, *, force: bool = False, progress: Progress | None = None
) -> Summary:
    """Copy the backup ``src`` into ``data_dir`` (absent or empty; ``force``: its contents
    are removed first). Files 0600, directories 0700, every file and directory fsynced."""
    src, data_dir = Path(src), Path(data_dir)
    report = progress or _no_progress
    read_manifest(src)
    if data_dir.exists() and (not data_dir.is_dir() or data_dir.is_symlink()):
        raise BackupError(f"{data_dir} is not a directory")
    if data_dir.exists() and any(data_dir.iterdir()):
        if not force:
            raise BackupError(f"{data_dir} is not empty (--force replaces its contents)")
        if DataDir(data_dir).listeners_file.exists():
            raise BackupError(f"a server seems to run on {data_dir} (run/listeners.json): stop it")
        for entry in data_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    started = time.monotonic()
    summary = Summary(str(src), str(data_dir))
    copier = _Copier(summary, link=False)  # the restored store shares no inode with the backup
    old_umask = os.umask(0o077)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        files = [p for p in _files(src) if p.parent != src or p.name != MANIFEST]
        for n, path in enumerate(files):
            rel = path.relative_to(src)
            copier.put(path, data_dir / rel, linkable=False)
            if rel.parts[0] == "queue" and path.suffix == ".q":
                summary.queue_entries += 1
            if path.name == INDEX_FILE:
                _forget_boot(data_dir / rel)
                summary.users += 1
            if n % PROGRESS_EVERY == 0 or n + 1 == len(files):
                report("restore", n + 1, len(files))
        for dirpath, dirnames, _names in os.walk(src):  # empty directories (tmp/) too
            for d in dirnames:
                (data_dir / Path(dirpath).relative_to(src) / d).mkdir(exist_ok=True)
        summary.databases = sum(1 for p in _files(data_dir) if is_sqlite(p))
        _fsync_dirs(data_dir)
    finally:
        os.umask(old_umask)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


__all__ = [
    "MANIFEST",
    "BackupError",
    "Progress",
    "Summary",
    "backup",
    "copy_file",
    "read_manifest",
    "restore",
    "snapshot_sqlite",
]
