"""Message bodies in PostgreSQL: chunked rows, streamed both ways.

A body is a ``mail_bodies`` row and ``mail_body_chunks`` rows of exactly :data:`CHUNK`
bytes each but the last, so a byte offset names its chunk by division (a partial FETCH
or a seek reads one row). Writing takes the caller's bytes (sliced, never copied whole)
or reads its file :data:`CHUNK` bytes at a time; reading is :class:`BodyReader`, an
``io.RawIOBase`` that holds one chunk and fetches the next as it is read: a 30 MB
message costs one chunk of memory either way (DESIGN principle 6).

Bodies are shared: COPY and MOVE give the new message the same ``body_id``; a body
outlives the last message that refers to it by :data:`ORPHAN_GRACE` seconds
(:func:`drop_unreferenced`), so a reader that opened it first finishes.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from mailtool.store.pg.mailindex import reading

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

#: seconds a body outlives its last message: a FETCH or RETR that opened it before the
#: expunge streams it to the end, as an open Maildir file outlives its unlink. Orphans
#: older than this go with the next expunge (of anyone) after it.
ORPHAN_GRACE = 600
#: bytes per chunk row: big enough that a typical message is one row, small enough that a
#: reader or writer holds little (PostgreSQL TOASTs it out of line either way)
CHUNK = 256 * 1024


class CrlfCounter:
    """The size of a stream's CRLF form (bare LFs counted as CRLF), fed piece by piece:
    RFC822.SIZE is what IMAP sends (RFC 9051 §2.2), whatever the stored line ends."""

    def __init__(self) -> None:
        self.size = 0
        self._last_cr = False

    def feed(self, data: bytes | memoryview) -> None:
        chunk = bytes(data) if isinstance(data, memoryview) else data
        if not chunk:
            return
        lfs = chunk.count(b"\n")
        crlfs = chunk.count(b"\r\n") + (1 if self._last_cr and chunk[:1] == b"\n" else 0)
        self.size += len(chunk) + lfs - crlfs
        self._last_cr = chunk[-1:] == b"\r"


def _pieces(message: bytes | bytearray | memoryview | BinaryIO) -> Iterator[bytes | memoryview]:
    """The message as CHUNK-sized pieces (the last may be shorter); bytes are sliced
    through a memoryview, a file is read CHUNK bytes at a time."""
    if isinstance(message, bytes | bytearray | memoryview):
        view = memoryview(message)
        for start in range(0, len(view), CHUNK):
            yield view[start : start + CHUNK]
        return
    pending = b""
    while True:
        data = message.read(CHUNK - len(pending))
        if not data:
            break
        pending = pending + data if pending else data
        if len(pending) == CHUNK:
            yield pending
            pending = b""
    if pending:
        yield pending


def write_body(
    conn: psycopg.Connection[Any], message: bytes | bytearray | memoryview | BinaryIO
) -> tuple[int, int, int]:
    """Insert a body inside the caller's transaction: ``(body_id, stored size, CRLF size)``.
    A body of one chunk (most messages) is one statement."""
    counter = CrlfCounter()
    pieces = _pieces(message)
    first = next(pieces, None)
    second = next(pieces, None) if first is not None else None
    if second is None:  # one chunk or none: body row and chunk row in one statement
        data = first if first is not None else b""
        counter.feed(data)
        row = conn.execute(
            "WITH b AS (INSERT INTO mail_bodies (size) VALUES (%s) RETURNING id)"
            " INSERT INTO mail_body_chunks (body_id, seq, data) SELECT id, 0, %b FROM b"
            " RETURNING body_id",
            (len(data), data),
        ).fetchone()
        assert row is not None
        return int(row[0]), len(data), counter.size
    row = conn.execute("INSERT INTO mail_bodies (size) VALUES (0) RETURNING id").fetchone()
    assert row is not None
    body_id = int(row[0])
    stored = 0
    for seq, piece in enumerate(itertools.chain((first, second), pieces)):
        assert piece is not None
        counter.feed(piece)
        stored += len(piece)
        conn.execute(
            "INSERT INTO mail_body_chunks (body_id, seq, data) VALUES (%s, %s, %b)",
            (body_id, seq, piece),
        )
    conn.execute("UPDATE mail_bodies SET size = %s WHERE id = %s", (stored, body_id))
    return body_id, stored, counter.size


def drop_unreferenced(conn: psycopg.Connection[Any], body_ids: Iterable[int]) -> None:
    """Mark those of ``body_ids`` no message refers to any more as orphans, and delete
    the orphans older than :data:`ORPHAN_GRACE` (their chunks go along), inside the
    caller's transaction. No message can refer to an orphan again (COPY takes bodies
    from messages, under their folder's lock), so the sweep never races a writer."""
    ids = sorted(set(body_ids))
    if not ids:
        return
    conn.execute(
        "UPDATE mail_bodies b SET orphaned_at = now() WHERE b.id = ANY(%s) AND NOT EXISTS"
        " (SELECT 1 FROM mail_messages m WHERE m.body_id = b.id)",
        (ids,),
    )
    conn.execute(
        "DELETE FROM mail_bodies b WHERE b.orphaned_at < now() - make_interval(secs => %s)"
        " AND NOT EXISTS (SELECT 1 FROM mail_messages m WHERE m.body_id = b.id)",
        (ORPHAN_GRACE,),
    )


class BodyReader(io.RawIOBase):
    """A body read chunk by chunk from the database (each fetch a pooled connection of
    its own, so a slow client holds no connection); seekable, read-only.

    A body expunged meanwhile stays readable for :data:`ORPHAN_GRACE` seconds; after
    that a read raises :class:`FileNotFoundError`, as a vanished message file would.
    """

    def __init__(self, db: Database, body_id: int, size: int, first: bytes | None = None) -> None:
        super().__init__()
        self._db = db
        self.body_id = body_id
        self.size = size
        self._pos = 0
        self._seq = 0 if first is not None else -1
        self._chunk: bytes = first if first is not None else b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.size
        if offset < 0:
            raise ValueError("negative seek position")
        self._pos = offset
        return offset

    def _load(self, seq: int) -> bytes:
        if seq != self._seq:
            with reading(self._db) as conn:
                row = conn.execute(
                    "SELECT data FROM mail_body_chunks WHERE body_id = %s AND seq = %s",
                    (self.body_id, seq),
                    binary=True,  # bytea as it is, not hex text twice its size
                ).fetchone()
            if row is None:
                raise FileNotFoundError(f"message body {self.body_id} was removed")
            self._chunk, self._seq = bytes(row[0]), seq
        return self._chunk

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            seq, offset = divmod(self._pos, CHUNK)
            chunk = self._load(seq)
            piece = chunk[offset : offset + len(view) - done]
            if not piece:
                break
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def readall(self) -> bytes:
        parts = []
        while self._pos < self.size:
            seq, offset = divmod(self._pos, CHUNK)
            piece = self._load(seq)[offset:]
            if not piece:
                break
            parts.append(piece)
            self._pos += len(piece)
        return b"".join(parts)

    def close(self) -> None:
        self._chunk = b""
        super().close()


__all__ = [
    "CHUNK",
    "ORPHAN_GRACE",
    "BodyReader",
    "CrlfCounter",
    "drop_unreferenced",
    "write_body",
]
