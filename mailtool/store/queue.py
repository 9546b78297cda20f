"""The spool: every accepted message lives here until each recipient is settled.

This is the durability point for whatever is not delivered at once (DESIGN
principle 1): SMTP answers ``250`` after DATA only once :meth:`Queue.enqueue`
has returned, or once every recipient is local and has the message fsynced in
its mailbox (:meth:`mailtool.mta.queue_runner.QueueRunner.submit`: delivered is
acknowledged, as with LMTP). Layout::

    <data_dir>/queue/<id>.q       one line of JSON (the envelope: sender, recipients,
                                  metadata), then the message exactly as accepted
    <data_dir>/queue/<id>.state   the envelope again, once a recipient's state changed
                                  (a deferral, a bounce, one of several delivered)
    <data_dir>/queue/tmp/         files being written
    <data_dir>/queue/.lock        flock() held while a state file is rewritten
    <data_dir>/queue/inflight/    one small file per delivery thread: the mailboxes it
                                  is delivering into right now, without a queue entry

Message and envelope are ONE file, written tmp/ -> fsync -> rename -> fsync
the directory: two disk flushes per message, and the directory fsync is shared
by every enqueue in flight at the same moment (:mod:`.groupsync`). So a crash
leaves the whole entry or none of it (a tmp/ leftover :meth:`Queue.recover`
removes). State files are written the same way; :meth:`Queue.get` prefers a
state file to the envelope in the ``.q`` header.

Removal: the ``.q`` goes first, then the state file. When there is a state
file, the directory is fsynced between the two, so a crash can never bring
back a ``.q`` whose state file is gone (its recipients would all look pending
again). Without one (the common case: one local recipient, delivered at the
first try) the unlink is not fsynced: a power loss may bring the entry back,
all pending, and the queue runner's start-up scan finds the delivered copy by
the queue id in our ``Received:`` header and marks it delivered instead of
delivering it twice (:mod:`mailtool.mta.queue_runner`). A SIGKILL cannot bring
anything back (the kernel has the unlink). Postfix does not fsync removals either.

Deliveries made before the ``250`` have no queue entry. A crash between the
Maildir rename and the index commit would leave a file the index does not
know until a client's next sync; :meth:`Queue.delivering` notes the mailboxes
in the thread's slot file (overwritten in place: no fsync, no file created or
removed per message; SIGKILL cannot lose a ``pwrite`` the kernel has) and
:meth:`Queue.interrupted_deliveries` tells the next start which mailboxes to
sync.

Ids sort by arrival time (16 hex digits of nanoseconds, then 8 random hex
digits) and are safe file names. One process (the server) enqueues and
delivers; ``mailtool queue`` in another process may read and change state,
which the lock file makes safe.

Spools of the earlier layout (``<id>.msg`` + ``<id>.json``) are converted by
:meth:`Queue.recover` when the server starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from mailtool.errors import NotFound, StoreError
from mailtool.store import ids
from mailtool.store.groupsync import sync_dir
from mailtool.store.maildir import write_durably
from mailtool.store.paths import DataDir

Status = Literal["pending", "delivered", "failed", "bounced"]
STATUSES: tuple[str, ...] = ("pending", "delivered", "failed", "bounced")
#: a recipient in one of these needs nothing more; "failed" still owes the sender a bounce
SETTLED = frozenset({"delivered", "bounced"})
_ID_RE = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}$")
_FORMAT = 2
#: first bytes of a ``.q`` file: the envelope line follows
_MAGIC = b"MTQ2 "
#: longest envelope line read back (metadata is small; a header is never this long)
_MAX_ENVELOPE = 1 << 20
_ENTRY, _STATE, _LEGACY_MSG, _LEGACY_ENV = ".q", ".state", ".msg", ".json"


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
    #: where the message starts in ``message_path`` (after the envelope line)
    message_offset: int = field(default=0, compare=False)

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
        """The message as a binary file, positioned at its first byte."""
        fh = open(self.message_path, "rb")  # noqa: SIM115 - the caller closes it
        fh.seek(self.message_offset)
        return fh

    def read_message(self) -> bytes:
        with self.open_message() as fh:
            return fh.read()

    @property
    def message_size(self) -> int | None:
        """Size of the message in bytes (None: the entry is gone)."""
        try:
            return self.message_path.stat().st_size - self.message_offset
        except FileNotFoundError:
            return None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("message_path")
        data.pop("message_offset")
        data["format"] = _FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], message_path: Path, offset: int = 0) -> QueueEntry:
        return cls(
            id=data["id"],
            sender=data["sender"],
            recipients=[RecipientState(**r) for r in data["recipients"]],
            created=data["created"],
            metadata=data.get("metadata", {}),
            message_path=message_path,
            message_offset=offset,
        )


class Queue:
    """The spool directory. Thread-safe in one process, lock-file-safe across processes."""

    def __init__(self, path: str | os.PathLike[str], *, slot_token: str | None = None) -> None:
        """``slot_token``: names this process's slot files; a worker process gets one
        starting with its main process's, so the main one never takes its slots for
        a crashed process's."""
        self.path = Path(path)
        self.tmp = self.path / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._lockfile = self.path / ".lock"
        self._thread_lock = threading.RLock()
        self._id_lock = threading.Lock()  # ids only: never waits behind a state write
        self._last_ns = 0
        self.inflight = self.path / "inflight"
        #: this process's slot files are ``<token>.<n>``: a restart never reads its own
        self.slot_token = slot_token or ids.token_hex(6)
        self._slots = threading.local()
        self._slot_count = itertools.count()

    @classmethod
    def in_data_dir(cls, data_dir: str | os.PathLike[str]) -> Queue:
        return cls(DataDir(data_dir).queue)

    def __repr__(self) -> str:
        return f"Queue({str(self.path)!r})"

    # ------------------------------------------------------------------ ids and files

    def _new_id(self) -> str:
        with self._id_lock:
            ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = ns
        return f"{ns:016x}-{ids.token_hex(4)}"

    def _paths(self, entry_id: str) -> tuple[Path, Path]:
        """(``<id>.q``, ``<id>.state``)."""
        if not _ID_RE.match(entry_id):
            raise NotFound(f"{entry_id!r} is not a queue id")
        return self.path / f"{entry_id}{_ENTRY}", self.path / f"{entry_id}{_STATE}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self._lockfile, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _install(self, final: Path, data: bytes | BinaryIO, prefix: bytes = b"") -> None:
        """tmp -> fsync -> rename -> fsync dir (the last shared with concurrent writers)."""
        tmp = self.tmp / f"{final.name}.{ids.token_hex(4)}"
        try:
            write_durably(tmp, data, prefix)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        sync_dir(self.path)

    def _write_state(self, entry: QueueEntry) -> None:
        _, state = self._paths(entry.id)
        self._install(state, json.dumps(entry.to_json(), indent=1, sort_keys=True).encode())

    # ------------------------------------------------------------------ API

    def enqueue(
        self,
        sender: str,
        recipients: list[str],
        message: bytes | BinaryIO,
        *,
        metadata: dict[str, Any] | None = None,
        states: Iterable[RecipientState] = (),
    ) -> QueueEntry:
        """Store a message for ``recipients``; durable on disk when this returns.

        ``sender`` is the envelope MAIL FROM ('' for a null sender, bounces);
        ``metadata`` is any JSON-able arrival information (client IP, HELO,
        authenticated user, TLS, received time) for Received: headers and logs.
        ``states``: recipients whose state is already known (delivered at the
        SMTP session, or failed there), written with the entry in the same file.
        """
        if not recipients:
            raise StoreError("a queue entry needs at least one recipient")
        entry_id = self._new_id()
        path, _ = self._paths(entry_id)
        known = {s.address: s for s in states}
        entry = QueueEntry(
            entry_id,
            sender,
            [known.get(a) or RecipientState(a) for a in dict.fromkeys(recipients)],
            time.time(),
            dict(metadata or {}),
            path,
        )
        # json refuses unserialisable metadata before anything is written
        header = _MAGIC + json.dumps(entry.to_json(), separators=(",", ":")).encode() + b"\n"
        entry.message_offset = len(header)
        self._install(path, message, header)
        return entry

    def get(self, entry_id: str) -> QueueEntry:
        path, state = self._paths(entry_id)
        try:
            with open(path, "rb") as fh:
                line = fh.readline(_MAX_ENVELOPE)
            if not line.startswith(_MAGIC) or not line.endswith(b"\n"):
                raise ValueError("no envelope line")
            data = json.loads(line[len(_MAGIC) :])
            try:
                with open(state, "rb") as fh:
                    data = json.loads(fh.read())
            except FileNotFoundError:
                pass
        except FileNotFoundError:
            raise NotFound(f"queue entry {entry_id} does not exist") from None
        except (ValueError, OSError) as exc:
            raise StoreError(f"queue entry {entry_id} is unreadable: {exc}") from exc
        return QueueEntry.from_json(data, path, len(line))

    def ids(self) -> list[str]:
        """Ids of complete entries, oldest first."""
        out = []
        with os.scandir(self.path) as it:
            for item in it:
                stem, dot, ext = item.name.partition(".")
                if dot and "." + ext == _ENTRY and _ID_RE.match(stem):
                    out.append(stem)
        return sorted(out)

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
            self._write_state(entry)
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
            self._write_state(entry)
        return entry

    def update_metadata(self, entry_id: str, **values: Any) -> QueueEntry:
        """Add or replace metadata keys (the relay notes a delay warning sent)."""
        with self._locked():
            entry = self.get(entry_id)
            entry.metadata.update(values)
            self._write_state(entry)
        return entry

    def remove(self, entry_id: str, *, force: bool = False) -> None:
        """Delete an entry once every recipient is settled (``force``: the caller knows).

        See the module docstring for why the common case is not fsynced.
        """
        path, state = self._paths(entry_id)
        if not force:
            entry = self.get(entry_id)
            if not entry.settled:
                open_ = [f"{r.address} ({r.status})" for r in entry.recipients if not r.settled]
                raise StoreError(
                    f"queue entry {entry_id} still has unsettled recipients: {', '.join(open_)}"
                )
        if not os.path.lexists(state):
            try:
                os.unlink(path)
            except FileNotFoundError:
                raise NotFound(f"queue entry {entry_id} does not exist") from None
            return
        with self._locked():
            try:
                os.unlink(path)
            except FileNotFoundError:
                raise NotFound(f"queue entry {entry_id} does not exist") from None
            finally:
                sync_dir(self.path)  # the .q is gone for good before its state goes
                state.unlink(missing_ok=True)

    @contextmanager
    def delivering(self, addresses: Iterable[str]) -> Iterator[None]:
        """Note in this thread's slot file that ``addresses`` are being delivered to
        (cleared when the block ends, whatever happens in it)."""
        fd = getattr(self._slots, "fd", None)
        if fd is None:
            self.inflight.mkdir(exist_ok=True)
            name = self.inflight / f"{self.slot_token}.{next(self._slot_count)}"
            fd = self._slots.fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        data = "\n".join(addresses).encode()
        os.pwrite(fd, len(data).to_bytes(4, "big") + data, 0)
        try:
            yield
        finally:
            os.pwrite(fd, bytes(4), 0)

    def interrupted_deliveries(self) -> list[str]:
        """Mailboxes another (crashed or stopped) process was delivering into when it
        ended; their slot files are removed. For the server's start-up."""
        found: dict[str, None] = {}
        try:
            slots = [p for p in self.inflight.iterdir() if not p.name.startswith(self.slot_token)]
        except FileNotFoundError:
            return []
        for slot in slots:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                data = slot.read_bytes()
                size = int.from_bytes(data[:4], "big")
                found.update(dict.fromkeys(a for a in data[4 : 4 + size].decode().split("\n") if a))
            slot.unlink(missing_ok=True)
        return list(found)

    def recover(self) -> list[str]:
        """Start-up clean-up by the one writing process: remove tmp/ leftovers and state
        files whose entry is gone, convert entries of the earlier two-file layout.
        Returns what was removed (for the log)."""
        removed = []
        with self._locked():
            for p in self.tmp.iterdir():
                p.unlink(missing_ok=True)
                removed.append(f"tmp/{p.name}")
            for p in self.path.glob(f"*{_STATE}"):
                if not p.with_suffix(_ENTRY).exists():
                    p.unlink(missing_ok=True)
                    removed.append(p.name)
            for p in self.path.glob(f"*{_LEGACY_MSG}"):
                if not p.with_suffix(_LEGACY_ENV).exists():
                    p.unlink(missing_ok=True)  # an enqueue of the old layout that never finished
                    removed.append(p.name)
            self._convert_legacy()
            sync_dir(self.path)
        return sorted(removed)

    def _convert_legacy(self) -> None:
        """``<id>.json`` + ``<id>.msg`` -> ``<id>.q``: the new file is durable before the
        old ones go, so a crash half-way converts again on the next start."""
        for env in self.path.glob(f"*{_LEGACY_ENV}"):
            entry_id, msg = env.stem, env.with_suffix(_LEGACY_MSG)
            if not _ID_RE.match(entry_id) or not msg.exists():
                continue
            data = json.loads(env.read_text())
            data["format"] = _FORMAT
            header = _MAGIC + json.dumps(data, separators=(",", ":")).encode() + b"\n"
            with open(msg, "rb") as fh:
                self._install(self.path / f"{entry_id}{_ENTRY}", fh, header)
            env.unlink()
            msg.unlink()
