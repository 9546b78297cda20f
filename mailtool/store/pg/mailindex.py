"""The read side of one user's mail in PostgreSQL, and the IMAP caches: what
:class:`mailtool.store.index.Index` answers on the SQLite backend.

:class:`PgMailIndex` is ``PgUserMail.index``: callers outside the store (the IMAP
adapter, SORT, the MDA's special-use look-up, the importer) use the same method names
on either backend. Every query names the folder by (user, name) through the
``mail_folders`` unique key, so nothing cached here can go stale when another node
renames or deletes a folder.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mailtool.errors import NotFound
from mailtool.store.index import (
    HEADER_FIELDS,
    SORT_FIELDS,
    FolderStatus,
    MessageInfo,
    MessageSummary,
    _decode_flags,
    header_column,
)

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

#: the folder of a query, by (address, name): the first two parameters
FOLDER = "(SELECT id FROM mail_folders WHERE address = %s AND name = %s)"
_COLUMNS = "uid, flags, size, internal_date, modseq"
#: above this many UIDs, :meth:`PgMailIndex.envelopes` reads the folder's rows and filters
ENVELOPES_BY_UID = 500


def base_name(folder_id: int, uid: int, internal_date: float) -> str:
    """A message's stable Maildir-like base name (what an export names its file)."""
    return f"{int(internal_date)}.F{folder_id}U{uid}.pg"


def message_info(folder_id: int, row: Sequence[Any]) -> MessageInfo:
    """A MessageInfo from a ``uid, flags, size, internal_date, modseq`` row."""
    uid, flags, size, date, modseq = row
    base = base_name(folder_id, uid, date)
    return MessageInfo(uid, base, f"cur/{base}", _decode_flags(flags), size, date, modseq)


def _text(value: Any) -> Any:
    """A sort key as PostgreSQL text takes it (no NUL; undecodable bytes replaced)."""
    if isinstance(value, str):
        return value.replace("\0", "").encode("utf-8", "replace").decode("utf-8")
    return value


def _blob(values: Sequence[str] | None) -> bytes | None:
    return None if not values else "\n".join(values).encode("utf-8", "surrogateescape")


def _insert_sort_fields(
    conn: psycopg.Connection[Any], fid: int, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Upsert ``(uid, *SORT_FIELDS)`` rows of folder ``fid``."""
    _upsert(conn, "mail_sort_fields", SORT_FIELDS, [(fid, *(_text(v) for v in r)) for r in rows])


def _insert_headers(
    conn: psycopg.Connection[Any], fid: int,
    rows: Sequence[tuple[int, dict[str, tuple[str, ...]]]],
) -> None:  # fmt: skip
    """Upsert the :data:`HEADER_FIELDS` rows of folder ``fid``."""
    cols = [header_column(f) for f in HEADER_FIELDS]
    values = [(fid, uid, *(_blob(f.get(h)) for h in HEADER_FIELDS)) for uid, f in rows]
    _upsert(conn, "mail_header_cache", cols, values)


def _upsert(
    conn: psycopg.Connection[Any], table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``(folder_id, uid, *cols)`` rows into ``table``, replacing those of the same message."""
    marks = ", ".join(["%s"] * (len(cols) + 2))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (folder_id, uid, {', '.join(cols)}) VALUES ({marks})"
            f" ON CONFLICT (folder_id, uid) DO UPDATE SET {updates}",
            rows,
        )


@contextlib.contextmanager
def reading(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection for reads, in autocommit: each statement sees the latest
    commits and no transaction is left to end (a round trip saved per read)."""
    with db.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                conn.autocommit = False


def folder_id(conn: psycopg.Connection[Any], address: str, name: str, *, lock: bool = False) -> int:
    """The id of ``name`` (``lock``: row-locked until the transaction ends); NotFound."""
    row = conn.execute(
        "SELECT id FROM mail_folders WHERE address = %s AND name = %s"
        + (" FOR UPDATE" if lock else ""),
        (address, name),
    ).fetchone()
    if row is None:
        raise NotFound(f"folder {name!r} does not exist")
    return int(row[0])


class PgMailIndex:
    """Rows for one user's folders and messages, read (and the caches written) by SQL."""

    def __init__(self, db: Database, address: str) -> None:
        self.db = db
        self.address = address

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with reading(self.db) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ folders

    def folder_names(self) -> list[str]:
        rows = self._rows(
            "SELECT name FROM mail_folders WHERE address = %s ORDER BY name", (self.address,)
        )
        return [r[0] for r in rows]

    def counters(self, name: str) -> tuple[int, int, int]:
        """(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) from the folder row alone."""
        row = self._one(
            "SELECT uidvalidity, uidnext, highestmodseq FROM mail_folders"
            " WHERE address = %s AND name = %s",
            (self.address, name),
        )
        if row is None:
            raise NotFound(f"folder {name!r} does not exist")
        return int(row[0]), int(row[1]), int(row[2])

    def special_uses(self) -> dict[str, tuple[str, ...]]:
        rows = self._rows(
            "SELECT name, special_use FROM mail_folders WHERE address = %s AND special_use != ''",
            (self.address,),
        )
        return {r[0]: tuple(r[1].split()) for r in rows}

    def set_special_use(self, name: str, uses: Iterable[str]) -> None:
        """RFC 6154 attributes given at CREATE (USE (...)); space-separated."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE mail_folders SET special_use = %s WHERE address = %s AND name = %s",
                (" ".join(uses), self.address, name),
            )

    def subscribed(self) -> list[str]:
        """Subscribed names, with those whose folder was deleted since (RFC 9051 §6.3.9)."""
        rows = self._rows(
            "SELECT name FROM mail_folders WHERE address = %s AND subscribed"
            " UNION SELECT name FROM mail_lost_subscriptions WHERE address = %s ORDER BY name",
            (self.address, self.address),
        )
        return [r[0] for r in rows]

    def status(self, name: str) -> FolderStatus:
        """One query (RFC 9051 §6.3.11): counts come from the message rows, no body read."""
        row = self._one(
            "SELECT f.name, f.uidvalidity, f.uidnext, f.highestmodseq, f.subscribed,"
            " count(m.uid), coalesce(sum(m.size), 0),"
            " count(m.uid) FILTER (WHERE position(' \\Seen ' in ' ' || m.flags || ' ') = 0),"
            " count(m.uid) FILTER (WHERE m.uid >= f.first_recent_uid)"
            " FROM mail_folders f LEFT JOIN mail_messages m ON m.folder_id = f.id"
            " WHERE f.address = %s AND f.name = %s GROUP BY f.id",
            (self.address, name),
        )
        if row is None:
            raise NotFound(f"folder {name!r} does not exist")
        fname, validity, uidnext, highest, subscribed, n, size, unseen, recent = row
        return FolderStatus(
            fname, int(validity), int(uidnext), int(highest), int(n), int(unseen), int(recent),
            int(size), bool(subscribed),
        )  # fmt: skip

    def totals(self) -> tuple[int, int]:
        """(messages, bytes) over every folder of the user, for quotas."""
        row = self._one(
            "SELECT count(*), coalesce(sum(m.size), 0) FROM mail_messages m"
            " JOIN mail_folders f ON f.id = m.folder_id WHERE f.address = %s",
            (self.address,),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def adopt_uids(self, name: str, uid: int, uidvalidity: int | None = None) -> bool:
        """Import: let the next message get ``uid`` (UIDNEXT only rises) and, while the
        folder never gave out a UID, take ``uidvalidity`` (as store/index.py's)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, uidnext, uidvalidity FROM mail_folders"
                " WHERE address = %s AND name = %s FOR UPDATE",
                (self.address, name),
            ).fetchone()
            if row is None:
                raise NotFound(f"folder {name!r} does not exist")
            fid, uidnext, validity = row
            if uidvalidity is not None and uidvalidity != validity:
                if uidnext != 1 or not 0 < uidvalidity <= 0xFFFFFFFF:
                    return False
                conn.execute(
                    "UPDATE mail_folders SET uidvalidity = %s WHERE id = %s", (uidvalidity, fid)
                )
            if uid < uidnext:
                return False
            conn.execute("UPDATE mail_folders SET uidnext = %s WHERE id = %s", (uid, fid))
        return True

    # ------------------------------------------------------------------ messages

    def messages(
        self,
        name: str,
        uids: Iterable[int] | None = None,
        *,
        sized: bool = True,
        dated: bool = True,
    ) -> list[MessageInfo]:
        """Messages of ``name`` in UID order (all, or those of ``uids`` that exist); every
        size and date is known here (``sized`` and ``dated`` are for the SQLite index's
        uncounted files)."""
        params: list[Any] = [self.address, name]
        where = ""
        if uids is not None:
            wanted = sorted(set(uids))
            if not wanted:
                return []
            where = " AND m.uid = ANY(%s)"
            params.append(wanted)
        rows = self._rows(
            f"SELECT f.id, m.uid, m.flags, m.size, m.internal_date, m.modseq"
            f" FROM mail_folders f JOIN mail_messages m ON m.folder_id = f.id"
            f" WHERE f.address = %s AND f.name = %s{where} ORDER BY m.uid",
            params,
        )
        return [message_info(r[0], r[1:]) for r in rows]

    def summaries(self, name: str) -> list[MessageSummary]:
        """Every message of ``name`` in UID order, without names: SELECT's listing."""
        rows = self._rows(
            f"SELECT uid, flags, modseq, size, internal_date FROM mail_messages"
            f" WHERE folder_id = {FOLDER} ORDER BY uid",
            (self.address, name),
        )
        decode = _decode_flags
        return [MessageSummary(u, decode(f), m, z, d) for u, f, m, z, d in rows]

    def changes_since(self, name: str, modseq: int) -> tuple[list[MessageInfo], list[int]]:
        """Messages changed after ``modseq`` and UIDs expunged after it (RFC 7162)."""
        with self.db.transaction() as conn:  # one snapshot for both
            fid = folder_id(conn, self.address, name)
            changed = conn.execute(
                f"SELECT {_COLUMNS} FROM mail_messages WHERE folder_id = %s AND modseq > %s"
                " ORDER BY uid",
                (fid, modseq),
            ).fetchall()
            gone = conn.execute(
                "SELECT uid FROM mail_expunged WHERE folder_id = %s AND modseq > %s ORDER BY uid",
                (fid, modseq),
            ).fetchall()
        return [message_info(fid, r) for r in changed], [int(r[0]) for r in gone]

    # ------------------------------------------------------------------ sort keys

    def sort_rows(self, name: str, *, sized: bool = True) -> list[tuple[Any, ...]]:
        """``(uid, size, internal_date, *SORT_FIELDS)`` of every message in UID order;
        the sort fields are None where no ``mail_sort_fields`` row exists yet."""
        cols = ", ".join(f"s.{c}" for c in SORT_FIELDS)
        rows = self._rows(
            f"SELECT m.uid, m.size, m.internal_date, {cols} FROM mail_messages m"
            " LEFT JOIN mail_sort_fields s ON s.folder_id = m.folder_id AND s.uid = m.uid"
            f" WHERE m.folder_id = {FOLDER} ORDER BY m.uid",
            (self.address, name),
        )
        return [tuple(r) for r in rows]

    def put_sort_fields(self, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Store ``(uid, *SORT_FIELDS)`` rows; forget rows of UIDs no longer indexed."""
        with self.db.transaction() as conn:
            fid = folder_id(conn, self.address, name)
            conn.execute(
                "DELETE FROM mail_sort_fields s WHERE s.folder_id = %s AND NOT EXISTS"
                " (SELECT 1 FROM mail_messages m WHERE m.folder_id = s.folder_id"
                " AND m.uid = s.uid)",
                (fid,),
            )
            _insert_sort_fields(conn, fid, rows)

    def sort_field_uids(self, name: str) -> list[int]:
        """UIDs of ``name`` that have a ``mail_sort_fields`` row."""
        return self._uids_in("mail_sort_fields", name)

    def _uids_in(self, table: str, name: str) -> list[int]:
        rows = self._rows(
            f"SELECT uid FROM {table} WHERE folder_id = {FOLDER}", (self.address, name)
        )
        return [int(r[0]) for r in rows]

    def put_cached_fields(
        self,
        name: str,
        headers: Sequence[tuple[int, dict[str, tuple[str, ...]]]],
        sorts: Sequence[tuple[Any, ...]],
    ) -> None:
        """``mail_header_cache`` rows (as :meth:`put_headers`) and ``mail_sort_fields``
        rows (as :meth:`put_sort_fields`, without its pruning) of messages whose header
        block was read once for both, in one transaction: a first SEARCH fills what a
        first SORT needs, and the other way round (as the SQLite index)."""
        with self.db.transaction() as conn:
            fid = folder_id(conn, self.address, name)
            if headers:
                _insert_headers(conn, fid, headers)
            if sorts:
                _insert_sort_fields(conn, fid, sorts)

    # ------------------------------------------------------------------ header cache

    def header_cached_uids(self, name: str) -> list[int]:
        return self._uids_in("mail_header_cache", name)

    def put_headers(
        self, name: str, rows: Sequence[tuple[int, dict[str, tuple[str, ...]]]]
    ) -> None:
        """Store decoded, case-folded :data:`HEADER_FIELDS` of messages by UID."""
        self.put_cached_fields(name, rows, ())

    def header_search(self, name: str, field: str, needle: str) -> list[int]:
        """UIDs whose cached ``field`` contains ``needle`` (already case-folded), or that
        have the field at all when ``needle`` is empty: one scan, no body read."""
        col = header_column(field)
        if "\n" in needle:
            return []  # an unfolded value holds no LF: only the joins would match
        if not needle:
            sql = (
                f"SELECT uid FROM mail_header_cache WHERE folder_id = {FOLDER}"
                f" AND {col} IS NOT NULL"
            )
            return [int(r[0]) for r in self._rows(sql, (self.address, name))]
        sql = (
            f"SELECT uid FROM mail_header_cache WHERE folder_id = {FOLDER}"
            f" AND position(%s::bytea in {col}) > 0"
        )
        blob = needle.encode("utf-8", "surrogateescape")
        return [int(r[0]) for r in self._rows(sql, (self.address, name, blob))]

    # ------------------------------------------------------------------ envelope cache

    def envelopes(self, name: str, uids: Sequence[int], *, utf8: bool) -> dict[int, bytes]:
        """UID -> cached ENVELOPE wire bytes of those of ``uids`` that have a row (the
        UTF8=ACCEPT form, or the other): one query, however many UIDs."""
        if not uids:
            return {}
        col = "utf8" if utf8 else "coalesce(ascii, utf8)"
        sql = f"SELECT uid, {col} FROM mail_envelope_cache WHERE folder_id = {FOLDER}"
        many = len(uids) > ENVELOPES_BY_UID  # the folder's rows, filtered here: faster
        with reading(self.db) as conn:
            rows = conn.execute(
                sql if many else sql + " AND uid = ANY(%s)",
                (self.address, name) if many else (self.address, name, list(uids)),
                binary=True,  # bytea as it is, not hex text twice its size
            ).fetchall()
        if many:
            wanted = set(uids)
            return {u: e for u, e in rows if u in wanted}
        return dict(rows)

    def put_envelopes(self, name: str, rows: Sequence[tuple[int, bytes, bytes | None]]) -> None:
        """Store ``(uid, utf8 form, ascii form or None)`` rows in one statement; a UID no
        longer indexed (expunged meanwhile) is skipped."""
        if not rows:
            return
        import psycopg.errors

        uids = [r[0] for r in rows]
        for attempt in (1, 2):
            try:
                with self.db.transaction() as conn:
                    fid = folder_id(conn, self.address, name)
                    conn.execute(
                        "INSERT INTO mail_envelope_cache (folder_id, uid, utf8, ascii)"
                        " SELECT m.folder_id, m.uid, x.utf8, x.ascii"
                        " FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[])"
                        " AS x(uid, utf8, ascii)"
                        " JOIN mail_messages m ON m.folder_id = %s AND m.uid = x.uid"
                        " ON CONFLICT (folder_id, uid) DO UPDATE"
                        " SET utf8 = EXCLUDED.utf8, ascii = EXCLUDED.ascii",
                        (uids, [r[1] for r in rows], [r[2] for r in rows], fid),
                    )
                return
            except psycopg.errors.ForeignKeyViolation:
                # a message expunged by another node between the join and the insert:
                # the second try no longer sees it
                if attempt == 2:
                    raise


def new_uidvalidity(conn: psycopg.Connection[Any], address: str) -> int:
    """A UIDVALIDITY larger than any this user had (RFC 9051 §2.3.1.1: a recreated name
    gets a new, larger one), from the user row's lock: two nodes never hand out one twice."""
    row = conn.execute(
        "UPDATE mail_users SET last_uidvalidity ="
        " greatest(%s, last_uidvalidity + 1) WHERE address = %s RETURNING last_uidvalidity",
        (int(time.time()) & 0xFFFFFFFF, address),
    ).fetchone()
    if row is None:
        raise NotFound(f"{address} has no mailbox")
    return int(row[0])


__all__ = [
    "FOLDER",
    "PgMailIndex",
    "base_name",
    "folder_id",
    "message_info",
    "new_uidvalidity",
    "reading",
]
