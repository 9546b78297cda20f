"""One folder of one user in PostgreSQL: :class:`PgFolder`, the twin of
:class:`mailtool.store.mailstore.Folder` (same methods, arguments, results, errors).

Every write is one transaction that returns only after its COMMIT (DESIGN principle 1:
``OK`` after durable). Numbers come from the folder row: ``UPDATE mail_folders SET
uidnext = uidnext + n, highestmodseq = highestmodseq + 1 ... RETURNING``, whose row lock
is held to the commit, so writers of one mailbox on any number of nodes take UIDs and
MODSEQs one after the other, in commit order (RFC 9051 §2.3.1.1: UIDs strictly
ascending, never reused; RFC 7162 §3: MODSEQ only grows). A body is written before the
folder row is locked, so a big APPEND holds the lock only for its last statement.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from mailtool.errors import NotFound, StoreError
from mailtool.store.index import MessageInfo, encode_flags
from mailtool.store.mailbase import (
    Changes,
    FolderBase,
    StoreMode,
    StoreResult,
    header_end,
    read_header,
)
from mailtool.store.maildir import canonical_flag
from mailtool.store.pg.bodies import CHUNK, BodyReader, CrlfCounter, drop_unreferenced, write_body
from mailtool.store.pg.mailindex import base_name, folder_id, message_info, reading

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.mailstore import PgUserMail

_DELETED = "position(' \\Deleted ' in ' ' || flags || ' ') > 0"
#: a CTE ``f``: the next UID and MODSEQ of the folder (address, name), its row locked
_NUMBERS = (
    "f AS (UPDATE mail_folders SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1"
    " WHERE address = %s AND name = %s RETURNING id, uidnext - 1 AS uid, highestmodseq)"
)
_INSERT_MESSAGE = (
    "INSERT INTO mail_messages (folder_id, uid, body_id, flags, size, internal_date, modseq)"
)
#: messages whose header blocks one query fetches (SEARCH / SORT filling their caches)
HEADER_BATCH = 500
#: bytes of each body that query fetches: a header longer than this is read on by chunks
HEADER_PREFIX = 64 * 1024


def take_numbers(conn: psycopg.Connection[Any], fid: int, uids: int) -> tuple[int, int]:
    """``(first new UID, new MODSEQ)``: ``uids`` UIDs and one MODSEQ from the folder row,
    which stays locked until the caller's transaction ends."""
    row = conn.execute(
        "UPDATE mail_folders SET uidnext = uidnext + %s, highestmodseq = highestmodseq + 1"
        " WHERE id = %s RETURNING uidnext - %s, highestmodseq",
        (uids, fid, uids),
    ).fetchone()
    if row is None:
        raise NotFound("the folder was deleted meanwhile")
    return int(row[0]), int(row[1])


def record_expunged(conn: psycopg.Connection[Any], fid: int, uids: list[int], modseq: int) -> None:
    """Remember expunged UIDs for QRESYNC (RFC 7162 §3.2.5.2) and drop their cache rows."""
    conn.execute(
        "INSERT INTO mail_expunged (folder_id, uid, modseq) SELECT %s, u, %s FROM unnest(%s)"
        " AS u ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
        (fid, modseq, uids),
    )
    for table in ("mail_sort_fields", "mail_header_cache"):
        conn.execute(f"DELETE FROM {table} WHERE folder_id = %s AND uid = ANY(%s)", (fid, uids))


class PgFolder(FolderBase):
    """One folder of one user. Cheap to make; holds no state beyond its name."""

    def __init__(self, mail: PgUserMail, name: str) -> None:
        self.mail = mail
        self.name = name
        self._db = mail.db

    def __repr__(self) -> str:
        return f"PgFolder({self.mail.address!r}, {self.name!r})"

    # ---- reading

    def open(self, uid: int) -> BinaryIO:
        """The body as a seekable binary stream that fetches its chunks as it is read."""
        with reading(self._db) as conn:  # one query: the body, its size, its first chunk
            row = conn.execute(
                "SELECT m.body_id, b.size, c.data FROM mail_messages m"
                " JOIN mail_folders f ON f.id = m.folder_id JOIN mail_bodies b ON b.id = m.body_id"
                " LEFT JOIN mail_body_chunks c ON c.body_id = m.body_id AND c.seq = 0"
                " WHERE f.address = %s AND f.name = %s AND m.uid = %s",
                (self.mail.address, self.name, uid),
                binary=True,  # bytea as it is, not hex text twice its size
            ).fetchone()
        if row is None:
            raise NotFound(f"no message with UID {uid} in {self.name!r}")
        body_id, size, first = row
        reader = BodyReader(self._db, int(body_id), int(size), bytes(first or b""))
        return reader  # type: ignore[return-value]  # an io.RawIOBase

    def read_headers(self, infos: Iterable[MessageInfo]) -> Iterator[tuple[int, bytes | None]]:
        """``(uid, header block)`` of each message, in order; None for one gone meanwhile.
        One query per :data:`HEADER_BATCH` messages fetches each body's first
        :data:`HEADER_PREFIX` bytes (PostgreSQL slices them); a longer header reads on."""
        listed = list(infos)
        for start in range(0, len(listed), HEADER_BATCH):
            batch = listed[start : start + HEADER_BATCH]
            with reading(self._db) as conn:
                rows = conn.execute(
                    "SELECT m.uid, substring(c.data from 1 for %s) FROM mail_messages m"
                    " JOIN mail_folders f ON f.id = m.folder_id LEFT JOIN mail_body_chunks c"
                    " ON c.body_id = m.body_id AND c.seq = 0"
                    " WHERE f.address = %s AND f.name = %s AND m.uid = ANY(%s)",
                    (HEADER_PREFIX, self.mail.address, self.name, [i.uid for i in batch]),
                    binary=True,
                ).fetchall()
            prefixes = {int(uid): bytes(data or b"") for uid, data in rows}
            for info in batch:
                prefix = prefixes.get(info.uid)
                if prefix is None:
                    yield info.uid, None
                elif header_end(prefix) >= 0 or len(prefix) < HEADER_PREFIX:
                    yield info.uid, read_header(io.BytesIO(), prefix)
                else:
                    yield info.uid, self._long_header(info.uid, prefix)

    def _long_header(self, uid: int, prefix: bytes) -> bytes | None:
        try:
            with self.open(uid) as fh:
                fh.seek(len(prefix))
                return read_header(fh, prefix)
        except (NotFound, FileNotFoundError):
            return None

    # ---- writing

    def append(
        self,
        message: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        *,
        size: int | None = None,
    ) -> MessageInfo:
        """APPEND / delivery: body and row in one transaction, watchers told after COMMIT.

        ``message`` is bytes (sliced into chunk rows, never copied whole) or a binary
        file (read a chunk at a time); ``size`` is needed for the quota check when it
        is a file. RFC822.SIZE is counted from the bytes as they go (CRLF form)."""
        flagset = frozenset(canonical_flag(f) for f in flags)
        encoded = encode_flags(flagset)
        if size is None and isinstance(message, bytes | bytearray):
            size = len(message)
        self.mail.check_quota(1, size or 0)
        when = time.time() if internal_date is None else float(internal_date)
        small = isinstance(message, bytes | bytearray) and len(message) <= CHUNK
        # a pipeline: the NOTIFY and the COMMIT go out together, after the one statement
        # (for a small message) that takes the UID and MODSEQ and writes body and row
        with self._db.connection() as conn, conn.pipeline(), conn.transaction():
            if small:
                counter = CrlfCounter()
                counter.feed(message)  # type: ignore[arg-type]
                wire_size = counter.size
                row = conn.execute(
                    f"WITH {_NUMBERS}, b AS (INSERT INTO mail_bodies (size) SELECT %s FROM f"
                    " RETURNING id), c AS (INSERT INTO mail_body_chunks (body_id, seq, data)"
                    f" SELECT id, 0, %b FROM b) {_INSERT_MESSAGE} SELECT f.id, f.uid, b.id, %s,"
                    " %s, %s, f.highestmodseq FROM f, b RETURNING folder_id, uid, modseq",
                    (self.mail.address, self.name, len(message), message, encoded, wire_size,
                     when),
                ).fetchone()  # fmt: skip
            else:
                body_id, _, wire_size = write_body(conn, message)
                # the folder row's lock (held to the COMMIT) is the last thing taken
                row = conn.execute(
                    f"WITH {_NUMBERS} {_INSERT_MESSAGE} SELECT id, uid, %s, %s, %s, %s,"
                    " highestmodseq FROM f RETURNING folder_id, uid, modseq",
                    (self.mail.address, self.name, body_id, encoded, wire_size, when),
                ).fetchone()
            if row is None:
                raise NotFound(f"folder {self.name!r} does not exist")
            fid, uid, modseq = int(row[0]), int(row[1]), int(row[2])
            self.mail._publish(conn, self.name, "append", [uid], modseq)
        self.mail._notify(self.name, "append", [uid], modseq)
        base = base_name(fid, uid, when)
        return MessageInfo(uid, base, f"cur/{base}", flagset, wire_size, when, modseq)

    def append_file(
        self, path: str, flags: Iterable[str] = (), internal_date: float | None = None
    ) -> MessageInfo:
        """:meth:`append` of a message spooled to ``path`` (from ``mail.tmp_path()``),
        streamed in, then removed (as the SQLite backend renames it in); on failure the
        file is left for the caller to remove."""
        with open(path, "rb") as fh:
            info = self.append(fh, flags, internal_date, size=os.fstat(fh.fileno()).st_size)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return info

    def import_message(
        self,
        *,
        uid: int,
        flags: Iterable[str],
        internal_date: float,
        modseq: int,
        data: bytes | BinaryIO,
    ) -> bool:
        """Restore one message with its own UID and MODSEQ (``mailtool store migrate``).
        False, nothing changed, when the UID is taken; UIDNEXT then passes ``uid`` and
        HIGHESTMODSEQ reaches ``modseq`` (numbers only grow)."""
        encoded = encode_flags(frozenset(canonical_flag(f) for f in flags))
        with self._db.transaction() as conn:
            fid = folder_id(conn, self.mail.address, self.name, lock=True)
            taken = conn.execute(
                "SELECT 1 FROM mail_messages WHERE folder_id = %s AND uid = %s"
                " UNION ALL SELECT 1 FROM mail_expunged WHERE folder_id = %s AND uid = %s",
                (fid, uid, fid, uid),
            ).fetchone()
            if taken:
                return False
            body_id, _, wire_size = write_body(conn, data)
            conn.execute(
                "INSERT INTO mail_messages (folder_id, uid, body_id, flags, size, internal_date,"
                " modseq) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (fid, uid, body_id, encoded, wire_size, internal_date, modseq),
            )
            conn.execute(
                "UPDATE mail_folders SET uidnext = greatest(uidnext, %s),"
                " highestmodseq = greatest(highestmodseq, %s),"
                " first_recent_uid = greatest(first_recent_uid, %s) WHERE id = %s",
                (uid + 1, modseq, uid + 1, fid),
            )
        return True

    def set_state(
        self,
        *,
        uidvalidity: int | None = None,
        uidnext: int | None = None,
        highestmodseq: int | None = None,
    ) -> None:
        """Restore the folder's numbers (``mailtool store migrate``), any subset of them.
        UIDNEXT and HIGHESTMODSEQ only rise (a lower value is ignored); UIDVALIDITY is
        taken as given (the source's, so its clients' UIDs stay valid)."""
        if uidvalidity is not None and not 0 < uidvalidity <= 0xFFFFFFFF:
            raise StoreError(f"UIDVALIDITY {uidvalidity} is out of range")
        with self._db.transaction() as conn:
            fid = folder_id(conn, self.mail.address, self.name, lock=True)
            conn.execute(
                "UPDATE mail_folders SET uidvalidity = coalesce(%s, uidvalidity),"
                " uidnext = greatest(uidnext, coalesce(%s, 0)),"
                " first_recent_uid = greatest(first_recent_uid, coalesce(%s, 0)),"
                " highestmodseq = greatest(highestmodseq, coalesce(%s, 0)) WHERE id = %s",
                (uidvalidity, uidnext, uidnext, highestmodseq, fid),
            )
            if uidvalidity is not None:
                conn.execute(
                    "UPDATE mail_users SET last_uidvalidity = greatest(last_uidvalidity, %s)"
                    " WHERE address = %s",
                    (uidvalidity, self.mail.address),
                )

    def store(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: StoreMode = "add",
        *,
        unchanged_since: int | None = None,
    ) -> StoreResult:
        """Change flags (RFC 9051 §6.4.6); RFC 7162 UNCHANGEDSINCE; one new MODSEQ."""
        wanted = frozenset(canonical_flag(f) for f in flags)
        encode_flags(wanted)
        changed: list[MessageInfo] = []
        failed: list[int] = []
        with self._db.transaction() as conn:
            fid = folder_id(conn, self.mail.address, self.name, lock=True)
            rows = conn.execute(
                "SELECT uid, flags, size, internal_date, modseq FROM mail_messages"
                " WHERE folder_id = %s AND uid = ANY(%s) ORDER BY uid",
                (fid, sorted(set(uids))),
            ).fetchall()
            updates: list[tuple[MessageInfo, frozenset[str]]] = []
            for row in rows:
                info = message_info(fid, row)
                if unchanged_since is not None and info.modseq > unchanged_since:
                    failed.append(info.uid)
                    continue
                if mode == "add":
                    new = info.flags | wanted
                elif mode == "remove":
                    new = info.flags - wanted
                else:
                    new = wanted
                if new != info.flags:
                    updates.append((info, new))
            if updates:
                _, modseq = take_numbers(conn, fid, 0)
                conn.execute(
                    "UPDATE mail_messages m SET flags = v.flags, modseq = %s"
                    " FROM unnest(%s::bigint[], %s::text[]) AS v(uid, flags)"
                    " WHERE m.folder_id = %s AND m.uid = v.uid",
                    (modseq, [i.uid for i, _ in updates], [encode_flags(n) for _, n in updates],
                     fid),
                )  # fmt: skip
                changed = [
                    MessageInfo(i.uid, i.base, i.path, n, i.size, i.internal_date, modseq)
                    for i, n in updates
                ]
                self.mail._publish(conn, self.name, "flags", [m.uid for m in changed], modseq)
        if changed:
            self.mail._notify(self.name, "flags", [m.uid for m in changed], changed[0].modseq)
        return StoreResult(changed, failed)

    def claim_recent(self, *, peek: bool = False) -> range:
        """The UIDs that are ``\\Recent`` for the calling session (RFC 3501 §2.3.2: one
        session gets each message, whichever node it is on); no MODSEQ change.
        ``peek``: EXAMINE, reads without claiming."""
        with self._db.transaction() as conn:
            fid = folder_id(conn, self.mail.address, self.name, lock=not peek)
            row = conn.execute(
                "SELECT first_recent_uid, uidnext FROM mail_folders WHERE id = %s", (fid,)
            ).fetchone()
            assert row is not None
            first, uidnext = int(row[0]), int(row[1])
            if not peek and uidnext > first:
                conn.execute(
                    "UPDATE mail_folders SET first_recent_uid = %s WHERE id = %s", (uidnext, fid)
                )
        return range(first, uidnext)

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Remove messages flagged ``\\Deleted`` (only those among ``uids`` when given,
        UID EXPUNGE, RFC 4315 §2.1), atomically. Returns the UIDs."""
        only = "" if uids is None else " AND uid = ANY(%s)"
        with self._db.transaction() as conn:
            fid = folder_id(conn, self.mail.address, self.name, lock=True)
            params: list[Any] = [fid] if uids is None else [fid, sorted(set(uids))]
            rows = conn.execute(
                f"DELETE FROM mail_messages WHERE folder_id = %s AND {_DELETED}{only}"
                " RETURNING uid, body_id",
                params,
            ).fetchall()
            if not rows:
                return []
            gone = sorted(int(r[0]) for r in rows)
            _, modseq = take_numbers(conn, fid, 0)
            record_expunged(conn, fid, gone, modseq)
            drop_unreferenced(conn, [int(r[1]) for r in rows])
            self.mail._publish(conn, self.name, "expunge", gone, modseq)
        self.mail._notify(self.name, "expunge", gone, modseq)
        return gone

    def _transfer(self, uids: Iterable[int], target: str, *, move: bool) -> dict[int, int]:
        """COPY and MOVE (RFC 6851) in one transaction; the body is shared, not copied."""
        dst = self.mail.folder(target)
        if dst.name == self.name and move:
            return {}
        wanted = sorted(set(uids))
        if not move:
            infos = self.messages(wanted)
            self.mail.check_quota(len(infos), sum(m.size for m in infos))
        with self._db.transaction() as conn:
            locked = conn.execute(
                "SELECT id, name FROM mail_folders WHERE address = %s AND name = ANY(%s)"
                " ORDER BY id FOR UPDATE",  # one order for every writer: no deadlock
                (self.mail.address, [self.name, dst.name]),
            ).fetchall()
            ids = {name: int(i) for i, name in locked}
            if self.name not in ids or dst.name not in ids:
                raise NotFound("the folder was deleted meanwhile")
            src_id, dst_id = ids[self.name], ids[dst.name]
            rows = conn.execute(
                "SELECT uid FROM mail_messages WHERE folder_id = %s AND uid = ANY(%s) ORDER BY uid",
                (src_id, wanted),
            ).fetchall()
            moved = [int(r[0]) for r in rows]
            if not moved:
                return {}
            first, dst_modseq = take_numbers(conn, dst_id, len(moved))
            conn.execute(
                "INSERT INTO mail_messages (folder_id, uid, body_id, flags, size, internal_date,"
                " modseq) SELECT %s, %s + row_number() OVER (ORDER BY uid) - 1, body_id, flags,"
                " size, internal_date, %s FROM mail_messages WHERE folder_id = %s"
                " AND uid = ANY(%s)",
                (dst_id, first, dst_modseq, src_id, moved),
            )
            mapping = {uid: first + i for i, uid in enumerate(moved)}
            self.mail._publish(conn, dst.name, "append", list(mapping.values()), dst_modseq)
            if move:
                conn.execute(
                    "DELETE FROM mail_messages WHERE folder_id = %s AND uid = ANY(%s)",
                    (src_id, moved),
                )
                _, src_modseq = take_numbers(conn, src_id, 0)
                record_expunged(conn, src_id, moved, src_modseq)
                self.mail._publish(conn, self.name, "expunge", moved, src_modseq)
        self.mail._notify(dst.name, "append", mapping.values(), dst_modseq)
        if move:
            self.mail._notify(self.name, "expunge", mapping, src_modseq)
        return mapping

    # ---- keeping in step with other programs

    def sync(self, *, force: bool = False, report: bool = True) -> Changes:
        """Nothing to rescan on PostgreSQL: no program drops files behind the store's back."""
        return Changes([], [])


__all__ = ["PgFolder", "record_expunged", "take_numbers"]
