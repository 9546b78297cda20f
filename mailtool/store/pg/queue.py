"""The queue on PostgreSQL: the file spool's twin (:mod:`mailtool.store.queue`), shared by
every serve node of one database.

Same public API, arguments, return types and errors as :class:`~mailtool.store.queue.Queue`
(``enqueue get ids list due mark reschedule update_metadata remove delivering
interrupted_deliveries recover``, :class:`QueueEntry`, :class:`RecipientState`), so the
MTA, the MDA and ``mailtool queue`` do not care which one they hold. Tables
(``migrations/004_queue.sql``)::

    queue_entry   one row per message: sender, created, recipients and metadata (the JSON
                  the spool keeps), size, next_due, and the claim (node, token, until)
    queue_chunk   the message in CHUNK-byte pieces (entry_id, seq)

**Durable on return** (DESIGN principle 1): :meth:`PgQueue.enqueue` returns after the
COMMIT of the one transaction that wrote the entry row and every chunk, so a crash (of
the node or of the database) leaves the whole message or none. The message is written
and read chunk by chunk: :meth:`PgQueueEntry.open_message` streams it from the database,
one chunk at a time, never loading it whole.

**Claims: one node at a time per message.** A runner takes due entries with
:meth:`PgQueue.claim_due` (``SELECT ... FOR UPDATE SKIP LOCKED``, then the claim written:
node, process token, ``claim_until = now() + lease`` on the database's clock, so the
nodes' clocks do not matter). Two runners never get the same entry; an entry claimed by a
live node is skipped by the others. The holder renews its claims while it works
(:meth:`renew`) and releases each when done (:meth:`release`); a SIGKILLed node's claims
expire after the lease and another node takes them, told that the entry was interrupted
(its local recipients may already hold the message: the runner looks before delivering
again). A restarted node (same node name, a new token) takes its previous life's claims
at once: nobody else could hold them.

A runner that delivers what it enqueues (:meth:`hold_new`) writes its claim in the
enqueue's transaction, so no other node races it for the message it is about to deliver.
Every other enqueue (an SMTP worker process, a node without a runner) is unclaimed and
sends ``NOTIFY mailtool_queue`` at its COMMIT: every node's runner wakes
(:mod:`.queue_wake`) and one claims it.

**Deliveries before the 250** (no queue entry): the PostgreSQL mail store files a message
in one transaction, so a crash leaves nothing for a restart to re-index;
:meth:`delivering` records nothing and :meth:`interrupted_deliveries` is empty.

Delay notices: an entry is claimed when its earliest pending retry (``next_due``) comes,
and the relay sends a due delay notice then, not between two retries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from mailtool.errors import NotFound, StoreError
from mailtool.store import ids
from mailtool.store.queue import STATUSES, QueueEntry, RecipientState, Status

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

#: bytes per stored piece of a message (one row of queue_chunk; read one at a time)
CHUNK = 256 * 1024
#: seconds a claim lasts unless renewed: how long a dead node's messages wait
LEASE = 300.0
#: the NOTIFY channel every node's runner listens on
CHANNEL = "mailtool_queue"
_FORMAT = 2
_ID_RE = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}$")
_COLUMNS = "id, sender, created, recipients, metadata, size"


@dataclass(eq=False)
class PgQueueEntry(QueueEntry):
    """A queued message whose body stays in the database until it is read."""

    db: Database | None = field(default=None, compare=False, repr=False)
    size: int = field(default=0, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueueEntry):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it extends

    def open_message(self) -> BinaryIO:
        """The message as a binary stream, read from the database one chunk at a time."""
        if self.db is None:
            raise StoreError(f"queue entry {self.id} is not attached to a database")
        raw = _ChunkReader(self.db, self.id, self.size)
        return io.BufferedReader(raw, CHUNK)  # type: ignore[return-value]

    def read_message(self) -> bytes:
        if self.db is None:
            raise StoreError(f"queue entry {self.id} is not attached to a database")
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT data FROM queue_chunk WHERE entry_id = %s ORDER BY seq", (self.id,)
            ).fetchall()
            conn.rollback()
        if not rows and self.size:
            raise NotFound(f"queue entry {self.id} does not exist")
        return b"".join(bytes(r[0]) for r in rows)

    @property
    def message_size(self) -> int | None:
        return self.size

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sender": self.sender,
            "recipients": [dataclasses.asdict(r) for r in self.recipients],
            "created": self.created,
            "metadata": json.loads(json.dumps(self.metadata)),
            "format": _FORMAT,
        }


class _ChunkReader(io.RawIOBase):
    """The chunks of one message, fetched one per read (a short query on a pooled
    connection each: a slow consumer holds no connection)."""

    def __init__(self, db: Database, entry_id: str, size: int) -> None:
        self._db, self._id, self._size = db, entry_id, size
        self._seq = 0
        self._buf = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not self._buf:
            if self._done:
                return 0
            with self._db.connection() as conn:
                row = conn.execute(
                    "SELECT data FROM queue_chunk WHERE entry_id = %s AND seq = %s",
                    (self._id, self._seq),
                ).fetchone()
                conn.rollback()
            if row is None:
                if self._seq == 0 and self._size:
                    raise NotFound(f"queue entry {self._id} does not exist")
                self._done = True
                return 0
            self._seq += 1
            self._buf = memoryview(bytes(row[0]))
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def next_due(recipients: Iterable[RecipientState]) -> float | None:
    """When a runner next has something to do with an entry: now (0) when a recipient
    failed (a bounce is owed) or every one is settled (the entry must go); else the
    earliest pending retry; None when nothing at all is pending (never happens: an
    entry with no pending, failed or settled-only recipients does not exist)."""
    recipients = list(recipients)
    if any(r.status == "failed" for r in recipients) or all(r.settled for r in recipients):
        return 0.0
    pending = [r.next_attempt or 0.0 for r in recipients if r.status == "pending"]
    return min(pending) if pending else None


class PgQueue:
    """The queue in PostgreSQL: thread-safe, and safe between processes and nodes."""

    def __init__(self, db: Database, *, slot_token: str | None = None) -> None:
        """``slot_token``: names this process (as for the file spool); the claim token is
        it plus a random part, so a restart never mistakes its old claims for its own."""
        self.db = db
        self.slot_token = slot_token or ids.token_hex(6)
        #: this process's claims: a restart (same node name) has a new token
        self.token = f"{self.slot_token}.{ids.token_hex(4)}"
        #: the node name claims are written under (a runner sets a stable one)
        self.node = self.token
        self.lease = LEASE
        self._hold_new = False
        self._id_lock = threading.Lock()
        self._last_ns = 0

    def __repr__(self) -> str:
        return f"PgQueue({self.db!r})"

    # ------------------------------------------------------------------ ids and rows

    def _new_id(self) -> str:
        with self._id_lock:
            ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = ns
        return f"{ns:016x}-{ids.token_hex(4)}"

    @staticmethod
    def _check_id(entry_id: str) -> None:
        if not _ID_RE.match(entry_id):
            raise NotFound(f"{entry_id!r} is not a queue id")

    def _entry(self, row: Any) -> PgQueueEntry:
        entry_id, sender, created, recipients, metadata, size = row
        return PgQueueEntry(
            id=entry_id,
            sender=sender,
            recipients=[RecipientState(**r) for r in recipients],
            created=created,
            metadata=metadata,
            db=self.db,
            size=size,
        )

    # ------------------------------------------------------------------ API

    def enqueue(
        self,
        sender: str,
        recipients: list[str],
        message: bytes | BinaryIO,
        *,
        metadata: dict[str, Any] | None = None,
        states: Iterable[RecipientState] = (),
    ) -> PgQueueEntry:
        """Store a message for ``recipients``; committed when this returns (see
        :meth:`mailtool.store.queue.Queue.enqueue` for the arguments)."""
        if not recipients:
            raise StoreError("a queue entry needs at least one recipient")
        known = {s.address: s for s in states}
        entry = PgQueueEntry(
            self._new_id(),
            sender,
            [known.get(a) or RecipientState(a) for a in dict.fromkeys(recipients)],
            time.time(),
            dict(metadata or {}),
            db=self.db,
        )
        return self._insert(entry, message, hold=self._hold_new)

    def import_entry(self, entry: Any, message: bytes | BinaryIO) -> PgQueueEntry:
        """Copy another queue's entry as it is (``mailtool store migrate``): its id,
        creation time, recipients' states and metadata; due as they were."""
        self._check_id(entry.id)
        copy = PgQueueEntry(
            entry.id,
            entry.sender,
            [dataclasses.replace(r) for r in entry.recipients],
            entry.created,
            dict(entry.metadata),
            db=self.db,
        )
        return self._insert(copy, message, hold=False)

    def _insert(
        self, entry: PgQueueEntry, message: bytes | BinaryIO, *, hold: bool
    ) -> PgQueueEntry:
        """Write ``entry`` and its message in one transaction; ``hold``: claimed by this
        node (its runner delivers it first), else every node's runner is woken."""
        # json refuses unserialisable metadata before anything is written
        rcpts = json.dumps([dataclasses.asdict(r) for r in entry.recipients])
        meta = json.dumps(entry.metadata)
        with self.db.transaction() as conn:
            entry.size = _write_chunks(conn, entry.id, message)
            conn.execute(
                "INSERT INTO queue_entry (id, sender, created, recipients, metadata, size,"
                " next_due, claim_node, claim_token, claim_until) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                "  CASE WHEN %s THEN now() + make_interval(secs => %s) END)",
                (entry.id, entry.sender, entry.created, rcpts, meta, entry.size,
                 next_due(entry.recipients), self.node if hold else None,
                 self.token if hold else None, hold, self.lease),
            )  # fmt: skip
            if not hold:  # delivered when the COMMIT is: every node's runner wakes
                conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        return entry

    def get(self, entry_id: str) -> PgQueueEntry:
        self._check_id(entry_id)
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM queue_entry WHERE id = %s", (entry_id,)
            ).fetchone()
            conn.rollback()
        if row is None:
            raise NotFound(f"queue entry {entry_id} does not exist")
        return self._entry(row)

    def ids(self) -> list[str]:
        """Ids of every entry, oldest first."""
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id FROM queue_entry ORDER BY id").fetchall()
            conn.rollback()
        return [r[0] for r in rows]

    def _select(self, where: str = "", params: tuple[Any, ...] = ()) -> list[PgQueueEntry]:
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM queue_entry {where} ORDER BY id", params
            ).fetchall()
            conn.rollback()
        return [self._entry(r) for r in rows]

    def list(self) -> list[PgQueueEntry]:
        """Every entry, oldest first."""
        return self._select()

    def due(self, now: float | None = None) -> list[PgQueueEntry]:
        """Entries with a pending recipient whose next attempt has come."""
        when = time.time() if now is None else now
        return [e for e in self._select("WHERE next_due <= %s", (when,)) if e.pending(when)]

    @contextlib.contextmanager
    def _changing(self, entry_id: str) -> Iterator[PgQueueEntry]:
        """The entry, locked for the block; its recipients and metadata written after."""
        self._check_id(entry_id)
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM queue_entry WHERE id = %s FOR UPDATE", (entry_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"queue entry {entry_id} does not exist")
            entry = self._entry(row)
            yield entry
            conn.execute(
                "UPDATE queue_entry SET recipients = %s, metadata = %s, next_due = %s"
                " WHERE id = %s",
                (json.dumps([dataclasses.asdict(r) for r in entry.recipients]),
                 json.dumps(entry.metadata), next_due(entry.recipients), entry_id),
            )  # fmt: skip

    def mark(
        self,
        entry_id: str,
        recipient: str,
        status: Status,
        *,
        error: str | None = None,
        next_attempt: float | None = None,
    ) -> PgQueueEntry:
        """Record one delivery attempt's outcome (attempts + 1); committed when it returns."""
        if status not in STATUSES:
            raise StoreError(f"unknown queue status {status!r}")
        with self._changing(entry_id) as entry:
            r = entry.recipient(recipient)
            r.status = status
            r.attempts += 1
            r.last_error = error
            r.next_attempt = next_attempt if status == "pending" else None
        return entry

    def reschedule(
        self, entry_id: str, *, next_attempt: float | None = None, fail: str | None = None
    ) -> PgQueueEntry:
        """As :meth:`mailtool.store.queue.Queue.reschedule` (``mailtool queue``)."""
        with self._changing(entry_id) as entry:
            for r in entry.recipients:
                if r.status != "pending":
                    continue
                if fail is not None:
                    r.status, r.last_error, r.next_attempt = "failed", fail, None
                else:
                    r.next_attempt = next_attempt
        return entry

    def update_metadata(self, entry_id: str, **values: Any) -> PgQueueEntry:
        """Add or replace metadata keys (the relay notes a delay warning sent)."""
        with self._changing(entry_id) as entry:
            entry.metadata.update(values)
        return entry

    def remove(self, entry_id: str, *, force: bool = False) -> None:
        """Delete an entry once every recipient is settled (``force``: the caller knows);
        its chunks go with it (ON DELETE CASCADE), in one transaction."""
        self._check_id(entry_id)
        with self.db.transaction() as conn:
            if not force:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM queue_entry WHERE id = %s FOR UPDATE", (entry_id,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"queue entry {entry_id} does not exist")
                entry = self._entry(row)
                if not entry.settled:
                    open_ = [f"{r.address} ({r.status})" for r in entry.recipients
                             if not r.settled]  # fmt: skip
                    raise StoreError(f"queue entry {entry_id} still has unsettled "
                                     f"recipients: {', '.join(open_)}")  # fmt: skip
            gone = conn.execute("DELETE FROM queue_entry WHERE id = %s", (entry_id,)).rowcount
        if not gone:
            raise NotFound(f"queue entry {entry_id} does not exist")

    @contextlib.contextmanager
    def delivering(self, addresses: Iterable[str]) -> Iterator[None]:
        """Nothing to note: the PostgreSQL mail store files a message in one transaction,
        so an interrupted delivery leaves nothing unindexed (module docstring)."""
        yield

    def interrupted_deliveries(self) -> list[str]:
        """Always empty on PostgreSQL (see :meth:`delivering`)."""
        return []

    def recover(self) -> list[str]:
        """Nothing to clean: a transaction that did not commit left nothing behind.
        (Interrupted deliveries of queued entries come back through :meth:`claim_due`.)"""
        return []

    # ------------------------------------------------------------------ claims (runners)

    def hold_new(self, node: str, lease: float = LEASE) -> None:
        """This process runs a queue runner as ``node`` (a name stable across restarts,
        unique among live nodes): what it enqueues from now on is claimed by it in the
        enqueue's transaction (it delivers at once), and ``lease`` is how long its claims
        last unless renewed."""
        self.node, self.lease, self._hold_new = node, lease, True

    def claim_due(
        self, now: float | None = None, limit: int = 32, *, skip: Iterable[str] = ()
    ) -> list[tuple[str, bool]]:
        """Claim up to ``limit`` entries that have work due and no live claim of another
        node, except those in ``skip`` (what this runner is busy with); returns (id,
        interrupted) pairs, oldest due first. ``interrupted``: a claim of another
        process (a dead node's, or this node's before a restart) was taken over, so a
        delivery may have been cut off half-way."""
        when = time.time() if now is None else now
        with self.db.transaction() as conn:
            rows = conn.execute(
                "WITH c AS (SELECT id, claim_token AS prev FROM queue_entry"
                "  WHERE next_due <= %(now)s AND (claim_node IS NULL OR claim_node = %(node)s"
                "   OR claim_until < now()) AND id <> ALL(%(skip)s)"
                "  ORDER BY next_due, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " UPDATE queue_entry q SET claim_node = %(node)s, claim_token = %(token)s,"
                "  claim_until = now() + make_interval(secs => %(lease)s)"
                " FROM c WHERE q.id = c.id RETURNING q.id, c.prev, q.next_due",
                {"now": when, "node": self.node, "token": self.token,
                 "limit": limit, "lease": self.lease, "skip": list(skip)},
            ).fetchall()  # fmt: skip
        rows.sort(key=lambda r: (r[2], r[0]))
        return [(r[0], r[1] is not None and r[1] != self.token) for r in rows]

    def renew(self) -> int:
        """Extend every claim this process holds by the lease; returns how many."""
        with self.db.transaction() as conn:
            return int(conn.execute(
                "UPDATE queue_entry SET claim_until = now() + make_interval(secs => %s)"
                " WHERE claim_token = %s", (self.lease, self.token),
            ).rowcount)  # fmt: skip

    def release(self, entry_id: str) -> None:
        """Give up this process's claim on ``entry_id`` (done with it for now)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE queue_entry SET claim_node = NULL, claim_token = NULL,"
                " claim_until = NULL WHERE id = %s AND claim_token = %s",
                (entry_id, self.token),
            )

    # ------------------------------------------------------------------ waking runners

    def wake(self) -> None:
        """Tell every node's runner to look at the queue now (``mailtool queue flush``)."""
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))

    def on_wake(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (in a thread of its own) whenever any process wakes the
        runners or enqueues unclaimed work, and once after the listening connection was
        lost and made again; returns the function that stops listening."""
        from mailtool.store.pg.queue_wake import WakeListener

        listener = WakeListener(self.db, CHANNEL, callback)
        listener.start()
        return listener.stop


def _write_chunks(conn: psycopg.Connection[Any], entry_id: str, message: bytes | BinaryIO) -> int:
    """Insert the message as CHUNK-byte rows (read from a file one chunk at a time)."""
    size = 0
    seq = 0
    if isinstance(message, bytes | bytearray | memoryview):
        data = memoryview(message)
        pieces: Iterable[Any] = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
    else:
        pieces = iter(lambda: message.read(CHUNK), b"")
    with conn.cursor() as cur:
        for piece in pieces:
            cur.execute("INSERT INTO queue_chunk (entry_id, seq, data) VALUES (%s, %s, %s)",
                        (entry_id, seq, bytes(piece)))  # fmt: skip
            size += len(piece)
            seq += 1
    return size
