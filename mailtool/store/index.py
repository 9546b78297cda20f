"""The per-user index: UIDs, flags, sizes and MODSEQs, so IMAP and POP3 never open files to list.

One SQLite file per user, ``<maildir root>/mailtool-index.sqlite`` (Dovecot
keeps its ``dovecot.index*`` there too and ignores ours). Per folder:
UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (RFC 9051 §2.3.1.1, RFC 7162 §3); per
message: UID, Maildir base name, current file path, flags (system flags and
keywords), size, internal date, MODSEQ. Expunged UIDs are remembered with the
MODSEQ of their expunge, for QRESYNC's VANISHED (RFC 7162 §3.2.5.2).

This module only keeps rows; :mod:`mailtool.store.mailstore` keeps them in step
with the files. Every change to a folder takes the next MODSEQ of that folder,
so HIGHESTMODSEQ doubles as a per-folder version number.

Commits are not flushed to disk one by one (SQLite ``synchronous=NORMAL`` in
WAL mode, where Linux tells us its boot id): every row can be rebuilt from the
Maildir, which is fsynced before a message is acknowledged, and a crashed
process loses no commit (the kernel has it). A power loss can undo the last
commits, and with them UIDs and MODSEQs clients may have seen; IMAP must
never give those to another message (RFC 9051 §2.3.1.1). So numbers are
handed out from blocks reserved by a commit that *is* flushed (``uid_reserved``,
``modseq_reserved``: every value given is below them), and the first open
after a reboot moves each folder's UIDNEXT and HIGHESTMODSEQ past its
reservations; the files whose rows were lost come back through the next sync
under fresh UIDs. One flushed commit per :data:`RESERVE_BLOCK` numbers instead
of one per delivery: bench_smtp measured 17-26% more messages per second
(the flush was most of the index's cost on the path to ``250``, and the time
other processes waited for its write lock).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from mailtool.errors import NotFound, StoreError
from mailtool.store.sqlite import Database, Transaction

T = TypeVar("T")

INDEX_FILE = "mailtool-index.sqlite"
#: UIDs and MODSEQs reserved per flushed commit (a reboot skips at most this many per folder)
RESERVE_BLOCK = 10_000
#: changes with every boot of the machine (Linux); elsewhere every commit is flushed
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
#: ``messages.size`` of a file another program dropped whose CRLF size is not counted
#: yet (learning it reads the whole file): the first read that hands out sizes counts
#: the folder's unsized files, in one batch, through :attr:`Index.count_files`
UNSIZED = -1
#: ``messages.internal_date`` of a file another program dropped whose mtime is not read
#: yet (a stat): a sync of 20,000 dropped files makes no system call per file, as
#: Dovecot's does not; the first read that hands out dates reads them, in one batch.
#: No APPEND date or file time can be it (about 31 million years BC).
UNDATED = -1e15

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    subscribed INTEGER NOT NULL DEFAULT 1,
    scan_stamp TEXT,
    special_use TEXT NOT NULL DEFAULT '',
    uid_reserved INTEGER NOT NULL DEFAULT 0,
    modseq_reserved INTEGER NOT NULL DEFAULT 0,
    first_recent_uid INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS messages (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    base TEXT NOT NULL,
    path TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    internal_date REAL NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_base ON messages(folder_id, base);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(folder_id, modseq);
CREATE TABLE IF NOT EXISTS expunged (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder_id, modseq)
"""

#: RFC 5256 SORT/THREAD keys of each message, written once per message (by the
#: first SORT or THREAD that needs them, see :mod:`mailtool.mra.imap.sort`) so
#: that sorting a folder opens no file. Kept apart from ``messages``: nothing
#: else reads or writes it, rows of expunged UIDs are pruned by the next
#: :meth:`Index.put_sort_fields`, a deleted folder takes its rows along.
#: subscriptions that outlived their folder (DELETE does not unsubscribe, RFC 9051 §6.3.5)
_LOST_SUBSCRIPTIONS_SCHEMA = "CREATE TABLE IF NOT EXISTS lost_subscriptions (name TEXT PRIMARY KEY)"
_SORT_SCHEMA = """
CREATE TABLE IF NOT EXISTS sort_fields (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    sent REAL,
    from_mailbox TEXT NOT NULL DEFAULT '',
    to_mailbox TEXT NOT NULL DEFAULT '',
    cc_mailbox TEXT NOT NULL DEFAULT '',
    from_display TEXT NOT NULL DEFAULT '',
    to_display TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    reply INTEGER NOT NULL DEFAULT 0,
    message_id TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID
"""
#: the columns of ``sort_fields`` after (folder_id, uid), in order
SORT_FIELDS = (
    "sent", "from_mailbox", "to_mailbox", "cc_mailbox", "from_display", "to_display",
    "subject", "reply", "message_id", "refs",
)  # fmt: skip

#: The header fields SEARCH compares most (RFC 9051 §6.4.4 FROM, TO, CC, BCC,
#: SUBJECT, SENT*), decoded and case-folded, one row per message, written the
#: first time a search needs them so a later search of the folder opens no
#: file and runs as one SQL scan. A field absent from the message is NULL; a
#: field that occurs several times keeps its values joined with LF (which an
#: unfolded value never contains). Values are UTF-8 BLOBs (``surrogateescape``
#: keeps undecodable bytes), so ``instr`` compares exactly what Python would.
_HEADER_SCHEMA = """
CREATE TABLE IF NOT EXISTS header_cache (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    h_subject BLOB, h_from BLOB, h_to BLOB, h_cc BLOB, h_bcc BLOB, h_date BLOB,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID
"""
#: FETCH ENVELOPE (RFC 9051 §7.5.2) of each message as the wire bytes sent, written the
#: first time a FETCH makes it (mailtool.mra.imap.envelope_cache), so a client's
#: next sync opens no file: ``utf8`` for a client that enabled UTF8=ACCEPT, ``ascii``
#: for one that did not (NULL: the same bytes). A row goes with its message (a foreign
#: key to ``messages``, cascading): an expunged UID leaves none behind.
_ENVELOPE_SCHEMA = """
CREATE TABLE IF NOT EXISTS envelope_cache (
    folder_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    utf8 BLOB NOT NULL,
    ascii BLOB,
    PRIMARY KEY (folder_id, uid),
    FOREIGN KEY (folder_id, uid) REFERENCES messages(folder_id, uid) ON DELETE CASCADE
) WITHOUT ROWID
"""
#: the files whose size is :data:`UNSIZED` (few, and none for long): found without a scan
_UNSIZED_SCHEMA = (
    "CREATE INDEX IF NOT EXISTS messages_unsized ON messages(folder_id, uid) WHERE size < 0"
)
#: the same for :data:`UNDATED` (the query's condition must be this text for SQLite to
#: use the partial index)
_UNDATED_WHERE = "internal_date = -1e15"
_UNDATED_SCHEMA = (
    "CREATE INDEX IF NOT EXISTS messages_undated ON messages(folder_id, uid)"
    f" WHERE {_UNDATED_WHERE}"
)
#: the fields of ``header_cache`` (lower case, as :func:`header_column` takes them)
HEADER_FIELDS = ("subject", "from", "to", "cc", "bcc", "date")


def _folder_id(tx: Transaction, name: str) -> int | None:
    """The id of folder ``name`` inside a write transaction, None when it is gone."""
    row = tx.execute("SELECT id FROM folders WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def header_column(field: str) -> str:
    """The ``header_cache`` column of a field name (NotFound for any other field)."""
    name = field.lower()
    if name not in HEADER_FIELDS:
        raise NotFound(f"header field {field!r} is not cached")
    return f"h_{name}"


def _blob(values: Sequence[str] | None) -> bytes | None:
    return None if not values else "\n".join(values).encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class MessageInfo:
    """One message as the index knows it; ``path`` is relative to the folder directory."""

    uid: int
    base: str
    path: str
    flags: frozenset[str]
    size: int
    internal_date: float
    modseq: int

    @property
    def recent(self) -> bool:
        """Still in ``new/``: no session has claimed it yet (IMAP4rev1 ``\\Recent``)."""
        return self.path.startswith("new/")


@dataclass(frozen=True)
class FolderStatus:
    """What SELECT, STATUS and POP3 STAT need, from one query (RFC 9051 §6.3.11)."""

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    recent: int
    size: int
    subscribed: bool


@dataclass(frozen=True)
class NewMessage:
    """A file to index: the Maildir base name, its path, flags, size and internal date."""

    base: str
    path: str
    flags: frozenset[str]
    size: int
    internal_date: float


def encode_flags(flags: Iterable[str]) -> str:
    if not flags:  # most files dropped in new/: nothing to sort or check
        return ""
    out = sorted(set(flags))
    for f in out:
        if not f or any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in f):
            raise StoreError(f"invalid flag {f!r}")
    return " ".join(out)


@functools.lru_cache(maxsize=4096)
def _decode_flags(text: str) -> frozenset[str]:
    # memoised: a folder has few distinct flag sets, and listing 100,000 rows
    # (IMAP SELECT) should not build 100,000 equal frozensets
    return frozenset(text.split()) if text else frozenset()


def _message(row: sqlite3.Row) -> MessageInfo:
    return MessageInfo(
        row["uid"],
        row["base"],
        row["path"],
        _decode_flags(row["flags"]),
        row["size"],
        row["internal_date"],
        row["modseq"],
    )


_COLUMNS = "uid, base, path, flags, size, internal_date, modseq"


def _lacking(messages: Iterable[MessageInfo], sizes: bool) -> bool:
    """Does a listing hand out a date (or, with ``sizes``, a size) not counted yet?"""
    return any((sizes and m.size < 0) or m.internal_date == UNDATED for m in messages)


#: what :attr:`Index.count_files` is: (folder, ``(uid, base, path, size wanted)`` rows)
#: -> UID -> (size or :data:`UNSIZED`, mtime)
CountFiles = Callable[[str, list[tuple[int, str, str, bool]]], dict[int, tuple[int, float]]]
#: bound parameters per ``IN (...)`` query (SQLite allows 999 in older builds)
_VARS_PER_QUERY = 500


class MessageSummary(NamedTuple):
    """What IMAP SELECT needs of a message: no file names, built at C speed."""

    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internal_date: float


class _ReserveFirst(Exception):
    """A change needs numbers past a folder's reservation: reserve (flushed), then retry."""

    def __init__(self, folder_id: int, uids: int = 0) -> None:
        self.folder_id = folder_id
        self.uids = uids


def _boot_id() -> str | None:
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


class Index:
    """Rows for one user's folders and messages."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        #: called after every commit that changes what clients see (messages, flags,
        #: folders): the store pokes other processes' IDLE sessions from here
        self.on_commit: Callable[[], None] | None = None
        #: counts what the index lacks of files another program dropped: given a folder
        #: name and ``(uid, base, path, size wanted)`` rows, returns UID -> (CRLF size, or
        #: :data:`UNSIZED` where not wanted; mtime) of the files found (the store reads them)
        self.count_files: CountFiles | None = None
        boot = _boot_id()
        self._db = Database(self.path, _SCHEMA, synchronous="FULL" if boot is None else "NORMAL")
        columns = {r["name"] for r in self._db.query("PRAGMA table_info(folders)")}
        if "special_use" not in columns:  # index made before special_use existed
            with self._db.write() as tx:
                tx.execute("ALTER TABLE folders ADD COLUMN special_use TEXT NOT NULL DEFAULT ''")
        if "uid_reserved" not in columns:  # index made before the reservations
            with self._db.write(durable=True) as tx:
                for column in ("uid_reserved", "modseq_reserved"):
                    tx.execute(f"ALTER TABLE folders ADD COLUMN {column} INTEGER NOT NULL"
                               " DEFAULT 0")  # fmt: skip
        if "first_recent_uid" not in columns:  # index made before \Recent was kept
            with self._db.write() as tx:
                tx.execute("ALTER TABLE folders ADD COLUMN first_recent_uid INTEGER NOT NULL"
                           " DEFAULT 1")  # fmt: skip
                tx.execute("UPDATE folders SET first_recent_uid = uidnext")
        if boot is not None:
            self._after_reboot(boot)
        if not self._db.one("SELECT 1 FROM sqlite_master WHERE name = 'sort_fields'"):
            with self._db.write() as tx:  # additive: indexes made before SORT get it too
                tx.execute(_SORT_SCHEMA)
        if not self._db.one("SELECT 1 FROM sqlite_master WHERE name = 'lost_subscriptions'"):
            with self._db.write() as tx:  # additive, like sort_fields
                tx.execute(_LOST_SUBSCRIPTIONS_SCHEMA)
        if not self._db.one("SELECT 1 FROM sqlite_master WHERE name = 'header_cache'"):
            with self._db.write() as tx:  # additive, like sort_fields
                tx.execute(_HEADER_SCHEMA)
        if not self._db.one("SELECT 1 FROM sqlite_master WHERE name = 'envelope_cache'"):
            with self._db.write() as tx:  # additive, like sort_fields
                tx.execute(_ENVELOPE_SCHEMA)
        if not self._db.one("SELECT 1 FROM sqlite_master WHERE name = 'messages_undated'"):
            with self._db.write() as tx:  # additive, like sort_fields
                tx.execute(_UNSIZED_SCHEMA)
                tx.execute(_UNDATED_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def data_version(self) -> int:
        """Changes when another connection (process) commits, never for our own
        commits (SQLite ``PRAGMA data_version``): tells another process's poke from ours."""
        row = self._db.one("PRAGMA data_version")
        return int(row[0]) if row is not None else 0

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    def _count(self, name: str | None, *, sizes: bool, dates: bool) -> None:
        """Count the :data:`UNSIZED` sizes (``sizes``) and read the :data:`UNDATED` dates
        (``dates``) of folder ``name``'s files (every folder's when None) before a read
        that hands them out: an indexed look-up each when there are none; else one batch,
        written without a MODSEQ (they never change, they were only not known). A size
        counted reads the file, which gives its date too; a date alone is a stat. Files
        gone meanwhile get 0 (the next sync expunges them)."""
        wanted: dict[tuple[str, int], tuple[int, str, str, bool]] = {}
        folder = " AND f.name = ?" if name is not None else ""
        params = (name,) if name is not None else ()
        # dates first: a row lacking both is then marked for the read that gives both
        for asked, partial, where, sized in ((dates, "messages_undated", _UNDATED_WHERE, False),
                                             (sizes, "messages_unsized", "size < 0", True)):
            if not asked:
                continue
            rows = self._db.rows(  # INDEXED BY: the planner preferred a scan of the folder
                f"SELECT f.name, m.uid, m.base, m.path FROM messages m INDEXED BY {partial}"
                f" JOIN folders f ON f.id = m.folder_id WHERE m.{where}{folder}",
                params,
            )
            for folder_name, uid, base, path in rows:
                wanted[folder_name, uid] = (uid, base, path, sized)
        if not wanted or self.count_files is None:
            return
        by_folder: dict[str, list[tuple[int, str, str, bool]]] = {}
        for (folder_name, _), row in wanted.items():
            by_folder.setdefault(folder_name, []).append(row)
        for folder_name, files in by_folder.items():
            found = self.count_files(folder_name, files)
            with self._db.write() as tx:
                tx.executemany(
                    "UPDATE messages SET size = CASE WHEN size < 0 THEN ? ELSE size END,"
                    f" internal_date = CASE WHEN {_UNDATED_WHERE} THEN ? ELSE internal_date"
                    " END WHERE folder_id = (SELECT id FROM folders WHERE name = ?) AND uid = ?",
                    [(*found.get(uid, (0, 0.0)), folder_name, uid) for uid, *_ in files],
                )

    def _sized_read(
        self,
        name: str | None,
        read: Callable[[], T],
        lacking: Callable[[T], bool],
        *,
        sizes: bool = True,
        dates: bool = True,
    ) -> T:
        """``read()`` once :meth:`_count` counted what it lacked; again when a sync
        (another thread or process) indexed new files in between: no size nor date is
        handed out uncounted (a few tries: each round counts every row it saw)."""
        for _ in range(4):
            self._count(name, sizes=sizes, dates=dates)
            out = read()
            if self.count_files is None or not lacking(out):
                break
        return out

    # ------------------------------------------------------------------ numbers

    def _after_reboot(self, boot: str) -> None:
        """First open since the machine started: commits the power loss may have undone
        gave out numbers below the reservations, so every folder continues above them."""
        row = self._db.one("SELECT value FROM meta WHERE key = 'boot_id'")
        if row is not None and row["value"] == boot:
            return
        with self._db.write(durable=True) as tx:
            row = tx.execute("SELECT value FROM meta WHERE key = 'boot_id'").fetchone()
            if row is not None and row["value"] == boot:
                return  # another process of this boot did it meanwhile
            tx.execute(
                "UPDATE folders SET uidnext = max(uidnext, uid_reserved),"
                " highestmodseq = max(highestmodseq, modseq_reserved)"
            )
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('boot_id', ?)", (boot,))

    def _numbering(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a write transaction that may hand out UIDs and MODSEQs; when
        it needs more than a folder has reserved, reserve (a flushed commit) and rerun it."""
        while True:
            try:
                with self._db.write() as tx:
                    result = work(tx)
                self._committed()
                return result
            except _ReserveFirst as need:
                with self._db.write(durable=True) as tx:
                    tx.execute(
                        "UPDATE folders SET"
                        " uid_reserved = max(uid_reserved, uidnext + ? + ?),"
                        " modseq_reserved = max(modseq_reserved, highestmodseq + 1 + ?)"
                        " WHERE id = ?",
                        (need.uids, RESERVE_BLOCK, RESERVE_BLOCK, need.folder_id),
                    )

    # ------------------------------------------------------------------ folders

    def folder_names(self) -> list[str]:
        return [r["name"] for r in self._db.query("SELECT name FROM folders ORDER BY name")]

    def add_folder(self, name: str) -> None:
        """Index a folder with a fresh UIDVALIDITY (never one this user had before)."""
        with self._db.write() as tx:
            if tx.execute("SELECT 1 FROM folders WHERE name = ?", (name,)).fetchone():
                return
            row = tx.execute("SELECT value FROM meta WHERE key = 'uidvalidity'").fetchone()
            # RFC 9051 §2.3.1.1: a recreated name must get a new, larger UIDVALIDITY
            uidvalidity = max(int(time.time()), (row[0] if row else 0) + 1) & 0xFFFFFFFF
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('uidvalidity', ?)", (uidvalidity,)
            )
            tx.execute("INSERT INTO folders (name, uidvalidity) VALUES (?, ?)", (name, uidvalidity))
            tx.execute("DELETE FROM lost_subscriptions WHERE name = ?", (name,))
        self._committed()

    def remove_folder(self, name: str) -> None:
        with self._db.write() as tx:
            # RFC 9051 §6.3.5: DELETE leaves the subscription (LIST shows \NonExistent)
            tx.execute(
                "INSERT OR IGNORE INTO lost_subscriptions (name)"
                " SELECT name FROM folders WHERE name = ? AND subscribed",
                (name,),
            )
            tx.execute("DELETE FROM folders WHERE name = ?", (name,))
        self._committed()

    def rename_folders(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Rename folder rows (UIDs, UIDVALIDITY and flags go with them)."""
        with self._db.write() as tx:
            for old, new in pairs:
                tx.execute("DELETE FROM folders WHERE name = ?", (new,))
                tx.execute("UPDATE folders SET name = ? WHERE name = ?", (new, old))
        self._committed()

    def set_subscribed(self, name: str, subscribed: bool) -> None:
        with self._db.write() as tx:
            tx.execute("UPDATE folders SET subscribed = ? WHERE name = ?", (int(subscribed), name))
            tx.execute("DELETE FROM lost_subscriptions WHERE name = ?", (name,))

    def subscribed(self) -> list[str]:
        """Subscribed names, with those whose folder was deleted since (RFC 9051 §6.3.9)."""
        rows = self._db.query(
            "SELECT name FROM folders WHERE subscribed"
            " UNION SELECT name FROM lost_subscriptions ORDER BY name"
        )
        return [r["name"] for r in rows]

    def set_special_use(self, name: str, uses: Iterable[str]) -> None:
        """RFC 6154 attributes given at CREATE (USE (...)); space-separated."""
        with self._db.write() as tx:
            tx.execute(
                "UPDATE folders SET special_use = ? WHERE name = ?", (" ".join(uses), name)
            )

    def adopt_uids(self, name: str, uid: int, uidvalidity: int | None = None) -> bool:
        """Import (:mod:`mailtool.transfer`): let the next message get ``uid`` (UIDNEXT
        only ever rises, RFC 9051 §2.3.1.1) and, while the folder has never given out a
        UID, take ``uidvalidity`` from the server the mail comes from, so its clients'
        UIDs stay valid. False (nothing changed) when ``uid`` is below UIDNEXT or the
        folder already has its own numbering."""
        with self._db.write() as tx:
            row = tx.execute(
                "SELECT id, uidnext, uidvalidity FROM folders WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"folder {name!r} does not exist")
            if uidvalidity is not None and uidvalidity != row["uidvalidity"]:
                if row["uidnext"] != 1 or not 0 < uidvalidity <= 0xFFFFFFFF:
                    return False
                tx.execute("UPDATE folders SET uidvalidity = ? WHERE id = ?",
                           (uidvalidity, row["id"]))  # fmt: skip
            if uid < row["uidnext"]:
                return False
            tx.execute("UPDATE folders SET uidnext = ? WHERE id = ?", (uid, row["id"]))
        self._committed()
        return True

    def counters(self, name: str) -> tuple[int, int, int]:
        """(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) from the folder row alone: the cheap
        "did anything change?" check an IMAP session makes after every command."""
        row = self._db.one(
            "SELECT uidvalidity, uidnext, highestmodseq FROM folders WHERE name = ?", (name,)
        )
        if row is None:
            raise NotFound(f"folder {name!r} does not exist")
        return row[0], row[1], row[2]

    def special_uses(self) -> dict[str, tuple[str, ...]]:
        """Folder name -> special-use attributes recorded with :meth:`set_special_use`."""
        rows = self._db.query("SELECT name, special_use FROM folders WHERE special_use != ''")
        return {r["name"]: tuple(r["special_use"].split()) for r in rows}

    def scan_stamp(self, name: str) -> str | None:
        row = self._db.one("SELECT scan_stamp FROM folders WHERE name = ?", (name,))
        return row["scan_stamp"] if row else None

    def set_scan_stamp(self, name: str, stamp: str | None) -> None:
        with self._db.write() as tx:
            tx.execute("UPDATE folders SET scan_stamp = ? WHERE name = ?", (stamp, name))

    def status(self, name: str) -> FolderStatus:
        """One indexed query: no message file is opened (SELECT of a 100k folder stays cheap)
        but those of files indexed :data:`UNSIZED`, once."""
        sql = (
            "SELECT f.name, f.uidvalidity, f.uidnext, f.highestmodseq, f.subscribed,"
            " count(m.uid) AS n, coalesce(sum(m.size), 0) AS size,"
            " coalesce(sum(instr(' ' || m.flags || ' ', ' \\Seen ') = 0), 0) AS unseen,"
            " coalesce(sum(m.uid >= f.first_recent_uid), 0) AS recent,"
            " coalesce(sum(m.size < 0), 0) AS unsized"
            " FROM folders f LEFT JOIN messages m ON m.folder_id = f.id"
            " WHERE f.name = ? GROUP BY f.id"
        )
        row = self._sized_read(
            name,
            lambda: self._db.one(sql, (name,)),
            lambda r: r is not None and r["unsized"] > 0,
            dates=False,
        )
        if row is None:
            raise NotFound(f"folder {name!r} does not exist")
        return FolderStatus(
            row["name"],
            row["uidvalidity"],
            row["uidnext"],
            row["highestmodseq"],
            row["n"],
            row["unseen"],
            row["recent"],
            row["size"],
            bool(row["subscribed"]),
        )

    def claim_recent(self, name: str, *, peek: bool = False) -> range:
        """The UIDs that are ``\\Recent`` for the session asking (RFC 3501 §2.3.2).

        A folder keeps the first UID no session has claimed; UIDs from there to UIDNEXT
        are \\Recent for the one session that claims them (SELECT, or a read-write
        session seeing new mail), in one transaction so two sessions never both get
        one. ``peek`` (EXAMINE, RFC 3501 §6.3.2) reads without claiming.
        """
        with self._db.write() as tx:
            row = tx.execute(
                "SELECT first_recent_uid, uidnext FROM folders WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"folder {name!r} does not exist")
            first, uidnext = row
            if not peek and uidnext > first:
                tx.execute(
                    "UPDATE folders SET first_recent_uid = ? WHERE name = ?", (uidnext, name)
                )
        return range(first, uidnext)

    def totals(self) -> tuple[int, int]:
        """(messages, bytes) over every folder of the user, for quotas."""
        sql = "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(size < 0), 0) FROM messages"
        row = self._sized_read(
            None, lambda: self._db.one(sql), lambda r: r is not None and r[2] > 0, dates=False
        )
        return (row[0], row[1]) if row else (0, 0)

    # ------------------------------------------------------------------ messages

    def messages(
        self,
        name: str,
        uids: Iterable[int] | None = None,
        *,
        sized: bool = True,
        dated: bool = True,
    ) -> list[MessageInfo]:
        """Messages of ``name`` in UID order (all, or those of ``uids`` that exist).
        ``sized=False`` leaves the files indexed :data:`UNSIZED` uncounted (size -1), for
        a caller that reads the files for something else (a first SEARCH's headers):
        counting first would read each of them twice. ``dated=False`` (with it) leaves
        the :data:`UNDATED` dates unread too."""
        if not sized and not dated:
            return self._messages(name, uids)
        return self._sized_read(
            name, lambda: self._messages(name, uids), lambda out: _lacking(out, sized), sizes=sized
        )

    def _messages(self, name: str, uids: Iterable[int] | None) -> list[MessageInfo]:
        sql = (
            f"SELECT {_COLUMNS} FROM messages WHERE folder_id ="
            " (SELECT id FROM folders WHERE name = ?)"
        )
        if uids is None:
            return [_message(r) for r in self._db.query(sql + " ORDER BY uid", (name,))]
        wanted = sorted(set(uids))
        out: list[MessageInfo] = []
        for i in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.query(sql + f" AND uid IN ({marks}) ORDER BY uid", (name, *chunk))
            out += [_message(r) for r in rows]
        return out

    def summaries(self, name: str) -> list[MessageSummary]:
        """Every message of ``name`` in UID order, without file names: the light
        listing a SELECT of 100,000 messages makes (several times faster than
        :meth:`messages`). The one read that hands out :data:`UNSIZED` and
        :data:`UNDATED` as they are: the first SELECT after 20,000 files arrived need
        not read nor stat them (the IMAP session counts them when a command needs a size
        or a date, with :meth:`messages`)."""
        rows = self._db.rows(
            "SELECT uid, flags, modseq, size, internal_date FROM messages WHERE folder_id ="
            " (SELECT id FROM folders WHERE name = ?) ORDER BY uid",
            (name,),
        )
        decode = _decode_flags
        return [MessageSummary(u, decode(f), m, z, d) for u, f, m, z, d in rows]

    def files(self, name: str) -> list[tuple[int, str, str, frozenset[str]]]:
        """``(uid, base, path, flags)`` of every message of ``name``: what a sync compares
        with the disk, with no size (no file of an :data:`UNSIZED` row is read for it)."""
        rows = self._db.rows(
            "SELECT uid, base, path, flags FROM messages WHERE folder_id ="
            " (SELECT id FROM folders WHERE name = ?)",
            (name,),
        )
        decode = _decode_flags
        return [(u, b, p, decode(f)) for u, b, p, f in rows]

    def files_in_new(self, name: str, uids: range) -> list[tuple[int, str, str, frozenset[str]]]:
        """``(uid, base, path, flags)`` of the messages among ``uids`` whose file is still
        in new/: what claiming \\Recent moves to cur/. Plain rows, not
        :class:`MessageInfo`: the first SELECT after 20,000 files arrived claims them all."""
        rows = self._db.rows(
            "SELECT uid, base, path, flags FROM messages WHERE folder_id ="
            " (SELECT id FROM folders WHERE name = ?) AND uid >= ? AND uid < ?"
            " AND substr(path, 1, 4) = 'new/' ORDER BY uid",
            (name, uids.start, uids.stop),
        )
        decode = _decode_flags
        return [(u, b, p, decode(f)) for u, b, p, f in rows]

    def add(self, name: str, items: Sequence[NewMessage]) -> list[MessageInfo]:
        """Give each new file the next UID; a base already indexed keeps its UID (no duplicates)."""
        if not items:
            return []
        return self._numbering(lambda tx: self._add(tx, name, items))

    def add_many(self, items: Sequence[tuple[str, NewMessage]]) -> list[MessageInfo]:
        """:meth:`add` for (folder, message) pairs, in ONE transaction (one WAL write):
        the group commit of concurrent deliveries. Results in the order given."""
        by_folder: dict[str, list[int]] = {}
        for i, (name, _) in enumerate(items):
            by_folder.setdefault(name, []).append(i)

        def work(tx: Transaction) -> list[MessageInfo]:
            out: list[MessageInfo | None] = [None] * len(items)
            for name, positions in by_folder.items():
                added = self._add(tx, name, [items[i][1] for i in positions])
                for i, info in zip(positions, added, strict=True):
                    out[i] = info
            return [info for info in out if info is not None]

        return self._numbering(work)

    def _add(self, tx: Transaction, name: str, items: Sequence[NewMessage]) -> list[MessageInfo]:
        folder_id, uidnext, modseq = self._bump(tx, name, len(items))
        # the other writer (sync or deliver) may have indexed some first: they keep theirs.
        # Looked up and inserted in batches, not a statement or two per message: the
        # first SELECT after 100,000 files appeared in new/ indexes them all here.
        indexed: dict[str, MessageInfo] = {}
        for start in range(0, len(items), _VARS_PER_QUERY):
            bases = [item.base for item in items[start : start + _VARS_PER_QUERY]]
            marks = ", ".join("?" * len(bases))
            for row in tx.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE folder_id = ? AND base IN ({marks})",
                (folder_id, *bases),
            ):
                indexed[row["base"]] = _message(row)
        out = []
        rows = []
        for item in items:
            old = indexed.get(item.base)
            if old is not None:
                out.append(old)
                continue
            info = MessageInfo(
                uidnext, item.base, item.path, item.flags, item.size, item.internal_date, modseq
            )
            indexed[item.base] = info  # the same base twice in items: one row
            rows.append((folder_id, uidnext, item.base, item.path, encode_flags(item.flags),
                         item.size, item.internal_date, modseq))  # fmt: skip
            out.append(info)
            uidnext += 1
        tx.executemany(
            f"INSERT INTO messages (folder_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        tx.execute("UPDATE folders SET uidnext = ? WHERE id = ?", (uidnext, folder_id))
        return out

    def _bump(self, tx: Transaction, name: str, uids: int = 0) -> tuple[int, int, int]:
        """(folder id, uidnext, new modseq) with HIGHESTMODSEQ raised by one; ``uids``:
        how many UIDs the caller is about to give (both within the reservations)."""
        row = tx.execute(
            "SELECT id, uidnext, highestmodseq, uid_reserved, modseq_reserved"
            " FROM folders WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise NotFound(f"folder {name!r} does not exist")
        modseq = row["highestmodseq"] + 1
        if modseq >= row["modseq_reserved"] or row["uidnext"] + uids > row["uid_reserved"]:
            raise _ReserveFirst(row["id"], uids)
        tx.execute("UPDATE folders SET highestmodseq = ? WHERE id = ?", (modseq, row["id"]))
        return row["id"], row["uidnext"], modseq

    def update(
        self, name: str, changes: dict[int, tuple[frozenset[str], str]]
    ) -> list[MessageInfo]:
        """Set (flags, path) of messages by UID; flag changes take a new MODSEQ."""
        if not changes:
            return []

        def work(tx: Transaction) -> None:
            folder_id, _, modseq = self._bump(tx, name)
            for uid, (flags, path) in changes.items():
                tx.execute(
                    "UPDATE messages SET flags = ?, path = ?, modseq = ?"
                    " WHERE folder_id = ? AND uid = ?",
                    (encode_flags(flags), path, modseq, folder_id, uid),
                )

        self._numbering(work)
        return self.messages(name, changes)

    def set_path(self, name: str, uid: int, path: str) -> None:
        """Record where a file moved (another program renamed it); no MODSEQ change."""
        self.set_paths(name, [(uid, path)])

    def set_paths(self, name: str, moved: Sequence[tuple[int, str]]) -> None:
        """:meth:`set_path` for many (UID, path) pairs in one transaction (a sync
        adopting the renames of other programs)."""
        self._set_paths(name, "", [(path, uid) for uid, path in moved])

    def moved_paths(self, name: str, moved: Sequence[tuple[int, str, str]]) -> None:
        """Record ``(uid, old path, new path)`` moves in one transaction, each only where
        the index still has ``old path``: claiming \\Recent moves files new/ -> cur/ in
        the background (:class:`~mailtool.store.recent_moves.RecentMover`), and a STORE in
        another process that renamed the file since keeps the path it recorded."""
        self._set_paths(name, " AND path = ?", [(new, uid, old) for uid, old, new in moved])

    def _set_paths(self, name: str, where: str, rows: Sequence[tuple[str | int, ...]]) -> None:
        """``UPDATE messages SET path`` for ``(path, uid, *more)`` rows, ``where`` adding
        a condition on the rest of each row."""
        if not rows:
            return
        with self._db.write() as tx:
            fid = _folder_id(tx, name)
            if fid is None:
                return
            tx.executemany(
                f"UPDATE messages SET path = ? WHERE folder_id = {int(fid)} AND uid = ?{where}",
                rows,
            )

    def remove(self, name: str, uids: Iterable[int]) -> int:
        """Forget messages, remembering their UIDs as expunged; returns the expunge MODSEQ."""
        doomed = list(uids)
        return self._numbering(lambda tx: self._remove(tx, name, doomed))

    def _remove(self, tx: Transaction, name: str, uids: list[int]) -> int:
        folder_id, _, modseq = self._bump(tx, name)
        for uid in uids:
            tx.execute("DELETE FROM messages WHERE folder_id = ? AND uid = ?", (folder_id, uid))
            tx.execute(
                "INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)",
                (folder_id, uid, modseq),
            )
        return modseq

    def transfer(
        self, src: str, dst: str, moves: Sequence[tuple[int, NewMessage]], *, remove_source: bool
    ) -> dict[int, int]:
        """COPY/MOVE in one transaction: index the new files in ``dst``, optionally expunge
        the sources; returns source UID -> destination UID (for COPYUID, RFC 4315)."""
        def work(tx: Transaction) -> list[MessageInfo]:
            added = self._add(tx, dst, [m for _, m in moves])
            if remove_source:
                self._remove(tx, src, [uid for uid, _ in moves])
            return added

        added = self._numbering(work)
        return {uid: info.uid for (uid, _), info in zip(moves, added, strict=True)}

    # ------------------------------------------------------------------ sort keys

    def sort_rows(self, name: str, *, sized: bool = True) -> list[tuple]:
        """Every message of ``name`` in UID order as ``(uid, size, internal_date,
        *SORT_FIELDS)``; the sort fields are all None for a message that has no
        ``sort_fields`` row yet. One query, no file opened (``sized=False``: sizes not
        counted yet stay -1, as :meth:`messages` says; dates are always read: SORT's
        ARRIVAL and its DATE of a message without Date: are the internal date)."""
        cols = ", ".join(f"s.{c}" for c in SORT_FIELDS)
        sql = (
            f"SELECT m.uid, m.size, m.internal_date, {cols} FROM messages m"
            " LEFT JOIN sort_fields s ON s.folder_id = m.folder_id AND s.uid = m.uid"
            " WHERE m.folder_id = (SELECT id FROM folders WHERE name = ?) ORDER BY m.uid"
        )
        return self._sized_read(
            name,
            lambda: self._db.rows(sql, (name,)),
            lambda rows: any((sized and r[1] < 0) or r[2] == UNDATED for r in rows),
            sizes=sized,
        )

    def put_sort_fields(self, name: str, rows: Sequence[tuple]) -> None:
        """Store ``(uid, *SORT_FIELDS)`` rows; forget rows of UIDs no longer indexed."""
        marks = ", ".join("?" * (len(SORT_FIELDS) + 2))
        with self._db.write() as tx:
            folder_id = _folder_id(tx, name)
            if folder_id is None:
                raise NotFound(f"folder {name!r} does not exist")
            tx.execute(
                "DELETE FROM sort_fields WHERE folder_id = ? AND uid NOT IN"
                " (SELECT uid FROM messages WHERE folder_id = ?)",
                (folder_id, folder_id),
            )
            tx.executemany(
                f"INSERT OR REPLACE INTO sort_fields (folder_id, uid, {', '.join(SORT_FIELDS)})"
                f" VALUES ({marks})",
                [(folder_id, *r) for r in rows],
            )

    def sort_field_uids(self, name: str) -> list[int]:
        """UIDs of ``name`` that have a ``sort_fields`` row."""
        return self._uids_in("sort_fields", name)

    def _uids_in(self, table: str, name: str) -> list[int]:
        rows = self._db.rows(
            f"SELECT uid FROM {table} WHERE folder_id = (SELECT id FROM folders WHERE name = ?)",
            (name,),
        )
        return [r[0] for r in rows]

    def put_cached_fields(
        self,
        name: str,
        headers: Sequence[tuple[int, dict[str, tuple[str, ...]]]],
        sorts: Sequence[tuple],
    ) -> None:
        """``header_cache`` rows (as :meth:`put_headers`) and ``sort_fields`` rows (as
        :meth:`put_sort_fields`, without its pruning) of messages whose header block
        was read once for both, in one transaction: a first SEARCH fills what a first
        SORT needs, and the other way round."""
        hcols = ", ".join(header_column(f) for f in HEADER_FIELDS)
        hmarks = ", ".join("?" * (len(HEADER_FIELDS) + 2))
        smarks = ", ".join("?" * (len(SORT_FIELDS) + 2))
        with self._db.write() as tx:
            fid = _folder_id(tx, name)
            if fid is None:
                raise NotFound(f"folder {name!r} does not exist")
            tx.executemany(
                f"INSERT OR REPLACE INTO header_cache (folder_id, uid, {hcols}) VALUES ({hmarks})",
                [(fid, uid, *(_blob(f.get(h)) for h in HEADER_FIELDS)) for uid, f in headers],
            )
            tx.executemany(
                f"INSERT OR REPLACE INTO sort_fields (folder_id, uid, {', '.join(SORT_FIELDS)})"
                f" VALUES ({smarks})",
                [(fid, *r) for r in sorts],
            )

    # ------------------------------------------------------------------ header cache

    def header_cached_uids(self, name: str) -> list[int]:
        """UIDs of ``name`` whose header fields are in ``header_cache``."""
        return self._uids_in("header_cache", name)

    def put_headers(
        self, name: str, rows: Sequence[tuple[int, dict[str, tuple[str, ...]]]]
    ) -> None:
        """Store decoded, case-folded :data:`HEADER_FIELDS` of messages by UID."""
        self.put_cached_fields(name, rows, ())

    def header_search(self, name: str, field: str, needle: str) -> list[int]:
        """UIDs whose cached ``field`` contains ``needle`` (already case-folded), or
        that have the field at all when ``needle`` is empty: one scan, no file opened."""
        col = header_column(field)
        if "\n" in needle:
            return []  # an unfolded value holds no LF: only the joins would match
        sub = "(SELECT id FROM folders WHERE name = ?)"
        if not needle:
            sql = f"SELECT uid FROM header_cache WHERE folder_id = {sub} AND {col} IS NOT NULL"
            return [r[0] for r in self._db.rows(sql, (name,))]
        sql = f"SELECT uid FROM header_cache WHERE folder_id = {sub} AND instr({col}, ?) > 0"
        blob = needle.encode("utf-8", "surrogateescape")
        return [r[0] for r in self._db.rows(sql, (name, blob))]

    # ------------------------------------------------------------------ envelope cache

    def envelopes(self, name: str, uids: Sequence[int], *, utf8: bool) -> dict[int, bytes]:
        """UID -> cached ENVELOPE wire bytes of those of ``uids`` that have a row (the
        UTF8=ACCEPT form, or the other): one query, however many UIDs."""
        col = "utf8" if utf8 else "coalesce(ascii, utf8)"
        sql = (
            f"SELECT uid, {col} FROM envelope_cache"
            " WHERE folder_id = (SELECT id FROM folders WHERE name = ?)"
        )
        if len(uids) > _VARS_PER_QUERY:  # many: the folder's rows, filtered here
            wanted = set(uids)
            return {u: e for u, e in self._db.rows(sql, (name,)) if u in wanted}
        out: dict[int, bytes] = {}
        if uids:
            marks = ", ".join("?" * len(uids))
            out.update(self._db.rows(sql + f" AND uid IN ({marks})", (name, *uids)))
        return out

    def put_envelopes(self, name: str, rows: Sequence[tuple[int, bytes, bytes | None]]) -> None:
        """Store ``(uid, utf8 form, ascii form or None)`` rows in one transaction; a UID
        no longer indexed (expunged meanwhile) is skipped."""
        if not rows:
            return
        with self._db.write() as tx:
            fid = _folder_id(tx, name)
            if fid is None:
                return
            tx.executemany(
                "INSERT OR REPLACE INTO envelope_cache (folder_id, uid, utf8, ascii)"
                " SELECT ?, ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM messages WHERE folder_id = ? AND uid = ?)",
                [(fid, uid, u8, asc, fid, uid) for uid, u8, asc in rows],
            )

    def changes_since(self, name: str, modseq: int) -> tuple[list[MessageInfo], list[int]]:
        """Messages changed after ``modseq`` and UIDs expunged after it (RFC 7162)."""
        return self._sized_read(
            name, lambda: self._changes_since(name, modseq), lambda r: _lacking(r[0], True)
        )

    def _changes_since(self, name: str, modseq: int) -> tuple[list[MessageInfo], list[int]]:
        sub = "(SELECT id FROM folders WHERE name = ?)"
        changed = self._db.query(
            f"SELECT {_COLUMNS} FROM messages WHERE folder_id = {sub} AND modseq > ? ORDER BY uid",
            (name, modseq),
        )
        gone = self._db.query(
            f"SELECT uid FROM expunged WHERE folder_id = {sub} AND modseq > ? ORDER BY uid",
            (name, modseq),
        )
        return [_message(r) for r in changed], [r["uid"] for r in gone]
