"""The spool: every accepted message lives here until each recipient is settled.

This is THE durability point (DESIGN principle 1): SMTP answers ``250`` after
DATA only once :meth:`Queue.enqueue` has returned. Layout::

    <data_dir>/queue/<id>.msg     the message, exactly as accepted
    <data_dir>/queue/<id>.json    the envelope: sender, per-recipient state, metadata
    <data_dir>/queue/tmp/         files being written
    <data_dir>/queue/.lock        flock() held while an envelope is rewritten or removed

Every file is written tmp/ -> fsync -> rename -> fsync dir; the message before
its envelope. So an envelope always has its message; a message without an
envelope is an enqueue that never returned and :meth:`Queue.recover` removes
it, with anything left in tmp/. Removal goes envelope first for the same reason.

Ids sort by arrival time (16 hex digits of nanoseconds, then 8 random hex
digits) and are safe file names. One process (the server) enqueues and
delivers; ``mailtool queue`` in another process may read and delete, which the
lock file makes safe.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from mailtool.errors import NotFound, StoreError
from mailtool.store.maildir import fsync_dir, write_file

Status = Literal["pending", "delivered", "failed", "bounced"]
STATUSES: tuple[str, ...] = ("pending", "delivered", "failed", "bounced")
#: a recipient in one of these needs nothing more; "failed" still owes the sender a bounce
SETTLED = frozenset({"delivered", "bounced"})
_ID_RE = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}$")
_FORMAT = 1


@dataclass
class RecipientState:
    """Where delivery to one recipient stands."""

    address: str
    status: Status = "pending"
    attempts: int = 0
    last_error: str | None = None
    next_attempt: float | None = None  # None: as soon as possible

    @property
    def settled(self) -> bool:
        return self.status in SETTLED


@dataclass
class QueueEntry:
    """One queued message's envelope (the message itself stays in its file)."""

    id: str
    sender: str
    recipients: list[RecipientState]
    created: float
    metadata: dict[str, Any] = field(default_factory=dict)
    message_path: Path = field(default=Path(), compare=False)

    @property
    def settled(self) -> bool:
        return all(r.settled for r in self.recipients)

    def recipient(self, address: str) -> RecipientState:
        for r in self.recipients:
            if r.address == address:
                return r
        raise NotFound(f"{address} is not a recipient of queue entry {self.id}")

    def pending(self, now: float | None = None) -> list[RecipientState]:
        """Recipients still to try (those whose next attempt has come, when ``now`` is given)."""
        return [
            r
            for r in self.recipients
            if r.status == "pending"
            and (now is None or r.next_attempt is None or r.next_attempt <= now)
        ]

    def open_message(self) -> BinaryIO:
        return open(self.message_path, "rb")

    def read_message(self) -> bytes:
        return self.message_path.read_bytes()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("message_path")
        data["format"] = _FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], message_path: Path) -> QueueEntry:
        return cls(
            id=data["id"],
            sender=data["sender"],
            recipients=[RecipientState(**r) for r in data["recipients"]],
            created=data["created"],
            metadata=data.get("metadata", {}),
            message_path=message_path,
        )


class Queue:
    """The spool directory. Thread-safe in one process, lock-file-safe across processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._lockfile = self.path / ".lock"
        self._thread_lock = threading.RLock()
        self._last_ns = 0

    @classmethod
    def in_data_dir(cls, data_dir: str | os.PathLike[str]) -> Queue:
        return cls(Path(data_dir) / "queue")

    def __repr__(self) -> str:
        return f"Queue({str(self.path)!r})"

    # ------------------------------------------------------------------ ids and files

    def _new_id(self) -> str:
        with self._thread_lock:
            ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = ns
        return f"{ns:016x}-{secrets.token_hex(4)}"

    def _paths(self, entry_id: str) -> tuple[Path, Path]:
        if not _ID_RE.match(entry_id):
            raise NotFound(f"{entry_id!r} is not a queue id")
        return self.path / f"{entry_id}.msg", self.path / f"{entry_id}.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self._lockfile, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _install(self, final: Path, data: bytes | BinaryIO) -> None:
        """tmp -> fsync -> rename -> fsync dir."""
        tmp = self.tmp / f"{final.name}.{secrets.token_hex(4)}"
        try:
            write_file(tmp, data)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.path)

    def _write_envelope(self, entry: QueueEntry) -> None:
        _, env = self._paths(entry.id)
        self._install(env, json.dumps(entry.to_json(), indent=1, sort_keys=True).encode())

    # ------------------------------------------------------------------ API

    def enqueue(
        self,
        sender: str,
        recipients: list[str],
        message: bytes | BinaryIO,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> QueueEntry:
        """Store a message for ``recipients``; durable on disk when this returns.

        ``sender`` is the envelope MAIL FROM ('' for a null sender, bounces);
        ``metadata`` is any JSON-able arrival information (client IP, HELO,
        authenticated user, TLS, received time) for Received: headers and logs.
        """
        if not recipients:
            raise StoreError("a queue entry needs at least one recipient")
        entry_id = self._new_id()
        msg, _ = self._paths(entry_id)
        seen: list[str] = []
        for r in recipients:
            if r not in seen:
                seen.append(r)
        entry = QueueEntry(
            entry_id,
            sender,
            [RecipientState(a) for a in seen],
            time.time(),
            dict(metadata or {}),
            msg,
        )
        json.dumps(entry.to_json())  # refuse unserialisable metadata before writing anything
        self._install(msg, message)  # message first: an envelope never lacks its message
        self._write_envelope(entry)
        return entry

    def get(self, entry_id: str) -> QueueEntry:
        msg, env = self._paths(entry_id)
        try:
            data = json.loads(env.read_text())
        except FileNotFoundError:
            raise NotFound(f"queue entry {entry_id} does not exist") from None
        except (ValueError, OSError) as exc:
            raise StoreError(f"queue entry {entry_id} is unreadable: {exc}") from exc
        return QueueEntry.from_json(data, msg)

    def ids(self) -> list[str]:
        """Ids of complete entries, oldest first."""
        return sorted(p.stem for p in self.path.glob("*.json") if _ID_RE.match(p.stem))

    def list(self) -> list[QueueEntry]:
        """Every complete entry, oldest first (entries removed meanwhile are skipped)."""
        out = []
        for entry_id in self.ids():
            try:
                out.append(self.get(entry_id))
            except NotFound:
                continue
        return out

    def due(self, now: float | None = None) -> list[QueueEntry]:
        """Entries with a pending recipient whose next attempt has come."""
        when = time.time() if now is None else now
        return [e for e in self.list() if e.pending(when)]

    def mark(
        self,
        entry_id: str,
        recipient: str,
        status: Status,
        *,
        error: str | None = None,
        next_attempt: float | None = None,
    ) -> QueueEntry:
        """Record one delivery attempt's outcome (attempts + 1); durable when it returns."""
        if status not in STATUSES:
            raise StoreError(f"unknown queue status {status!r}")
        with self._locked():
            entry = self.get(entry_id)
            r = entry.recipient(recipient)
            r.status = status
            r.attempts += 1
            r.last_error = error
            r.next_attempt = next_attempt if status == "pending" else None
            self._write_envelope(entry)
        return entry

    def reschedule(
        self, entry_id: str, *, next_attempt: float | None = None, fail: str | None = None
    ) -> QueueEntry:
        """Change unsettled recipients without counting an attempt (``mailtool queue``):
        pending ones get ``next_attempt`` (None: now); with ``fail``, every pending
        recipient becomes "failed" with that error, so the runner bounces it."""
        with self._locked():
            entry = self.get(entry_id)
            for r in entry.recipients:
                if r.status != "pending":
                    continue
                if fail is not None:
                    r.status, r.last_error, r.next_attempt = "failed", fail, None
                else:
                    r.next_attempt = next_attempt
            self._write_envelope(entry)
        return entry

    def update_metadata(self, entry_id: str, **values: Any) -> QueueEntry:
        """Add or replace metadata keys (the relay notes a delay warning sent)."""
        with self._locked():
            entry = self.get(entry_id)
            entry.metadata.update(values)
            self._write_envelope(entry)
        return entry

    def remove(self, entry_id: str, *, force: bool = False) -> None:
        """Delete an entry once every recipient is settled (``force``: the admin says so)."""
        msg, env = self._paths(entry_id)
        with self._locked():
            entry = self.get(entry_id)
            if not force and not entry.settled:
                open_ = [f"{r.address} ({r.status})" for r in entry.recipients if not r.settled]
                raise StoreError(
                    f"queue entry {entry_id} still has unsettled recipients: {', '.join(open_)}"
                )
            env.unlink()  # envelope first: a crash leaves an orphan message recover() removes
            fsync_dir(self.path)
            msg.unlink(missing_ok=True)
            fsync_dir(self.path)

    def recover(self) -> list[str]:
        """Start-up clean-up by the one writing process: remove tmp/ leftovers and messages
        whose enqueue never finished. Returns what was removed (for the log)."""
        removed = []
        with self._locked():
            for p in self.tmp.iterdir():
                p.unlink(missing_ok=True)
                removed.append(f"tmp/{p.name}")
            for p in self.path.glob("*.msg"):
                if not p.with_suffix(".json").exists():
                    p.unlink(missing_ok=True)
                    removed.append(p.name)
            fsync_dir(self.path)
        return sorted(removed)
