"""The import side every source shares: file a message once, keep its flags, date and UID.

**Identity.** A message is the same message when its Message-ID (empty when it has
none), its size in CRLF form (what IMAP counts as RFC822.SIZE) and its internal
date to the second agree. Before the first message of a folder is filed the keys
of every message already in that folder are read (headers of each file, size and
date from the index), so a re-run, or a run resumed after it was killed, files
nothing twice: every append is durable when it returns (DESIGN principle 1), and a
file whose index entry the kill prevented is indexed by :meth:`Folder.sync` first.

**UIDs.** When the source knows its UIDVALIDITY and UIDs (Dovecot's
``dovecot-uidlist``, an IMAP server) and the folder is new to us (it never gave a
UID), the folder takes the source's UIDVALIDITY and each message its UID
(:meth:`~mailtool.store.index.Index.adopt_uids`), so a client that was in sync
with the old server stays valid. Otherwise messages get our next UIDs, in the
source's order.

**Order and speed.** Files are written and fsynced a few at a time ahead of the
commit (:mod:`.writer`); each is renamed in and indexed in the source's order
(:meth:`Folder.append_file`, the path a spooled IMAP APPEND takes). Call
:meth:`Importer.finish` when the sources are done and :meth:`Importer.close` always.

**Bounds.** A message larger than ``[limits] max_message_size`` is reported and
skipped: sources stop reading it at that size (:data:`TOO_BIG`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mailtool.errors import MailtoolError, QuotaExceeded, StoreError
from mailtool.protocol.mime.parser import to_crlf
from mailtool.store.interfaces import (
    INBOX,
    SYSTEM_FLAGS,
    InvalidFolderName,
    MailStore,
    canonical_flag,
    normalize_folder,
)
from mailtool.store.interfaces import MailFolder as Folder
from mailtool.store.interfaces import UserMailbox as UserMail
from mailtool.transfer.writer import WINDOW, WINDOW_BYTES, FileWriter

#: how much of a stored message is read to find its Message-ID (the header section)
HEADER_READ_LIMIT = 256 * 1024
#: flags a message keeps: \Recent is per session (RFC 9051 §2.3.2), never stored
DROPPED_FLAGS = frozenset({"\\recent"})
MAX_KEYWORD_LENGTH = 100
#: RFC 9051 §9 atom: ASCII without the atom-specials ( ) { SP CTL % * " \\ ]
_KEYWORD = re.compile(r"[^\x00-\x20\x7f(){%*\"\\\]]+")

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.I | re.M)


class Key(NamedTuple):
    """What makes two copies the same message (see the module docstring)."""

    message_id: str
    size: int
    date: int


class TooBig(MailtoolError):
    """A source message over the size limit (skipped, reported)."""


def header_section(data: bytes) -> bytes:
    """The header lines of ``data`` (up to the first empty line)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = data.find(sep)
        if end >= 0:
            return data[: end + len(sep) // 2]
    return data


def message_id(header: bytes) -> str:
    """The Message-ID field's value, unfolded and without white space ('' when none)."""
    m = _MESSAGE_ID.search(header)
    if m is None:
        return ""
    return re.sub(rb"\s+", b"", m.group(1)).decode("utf-8", "replace")


def key_of(data: bytes, date: float) -> Key:
    """The key of a message as we would store it (``data`` in CRLF form)."""
    return Key(message_id(header_section(data[:HEADER_READ_LIMIT])), len(data), int(date))


def clean_flags(flags: Iterable[str]) -> frozenset[str]:
    """The flags worth keeping: the system flags, and keywords that are IMAP atoms
    (RFC 9051 §9 flag-keyword; a header like ``X-Keywords: (a) "b"`` gives none that
    would break a FETCH response), at most :data:`MAX_KEYWORD_LENGTH` long."""
    out = set()
    for f in flags:
        if f.lower() in DROPPED_FLAGS:
            continue
        if f.startswith("\\"):
            if canonical_flag(f) in SYSTEM_FLAGS:
                out.add(canonical_flag(f))
        elif f.isascii() and _KEYWORD.fullmatch(f) and len(f) <= MAX_KEYWORD_LENGTH:
            out.add(f)
    return frozenset(out)


@dataclass
class FolderCounts:
    imported: int = 0
    duplicates: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"imported": self.imported, "duplicates": self.duplicates, "failed": self.failed}


@dataclass
class Summary:
    """Per-folder counts and one line per failure: what ``--json`` prints."""

    folders: dict[str, FolderCounts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def counts(self, folder: str) -> FolderCounts:
        return self.folders.setdefault(folder, FolderCounts())

    @property
    def totals(self) -> FolderCounts:
        out = FolderCounts()
        for c in self.folders.values():
            out.imported += c.imported
            out.duplicates += c.duplicates
            out.failed += c.failed
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "folders": {name: c.as_dict() for name, c in sorted(self.folders.items())},
            "totals": self.totals.as_dict(),
            "errors": list(self.errors),
        }


@dataclass
class _Pending:
    """A message whose file is being written; committed in the source's order."""

    job: Future[str]
    flags: frozenset[str]
    date: float
    uid: int | None
    keys: tuple[Key, Key]
    size: int


class Target:
    """One folder being imported into: its existing keys, and the UID adoption state."""

    def __init__(self, importer: Importer, folder: Folder, uidvalidity: int | None) -> None:
        self.importer = importer
        self.folder = folder
        self.counts = importer.summary.counts(folder.name)
        self.keys: set[Key] | None = None
        self._pending: deque[_Pending] = deque()
        self._pending_bytes = 0
        index = folder.mail.index
        status = folder.status()
        new_to_us = status.uidnext == 1
        if uidvalidity and new_to_us:
            index.adopt_uids(folder.name, 1, uidvalidity)
        #: keep the source's UIDs (the folder's numbering is the source's)
        self.keep_uids = bool(uidvalidity) and folder.status().uidvalidity == uidvalidity

    def _existing(self) -> set[Key]:
        if self.keys is None:
            self.folder.sync()  # files a killed run left without an index entry
            keys: set[Key] = set()
            for info in self.folder.messages():
                try:
                    with self.folder.open(info.uid) as fh:
                        head = header_section(fh.read(HEADER_READ_LIMIT))
                except (OSError, StoreError):
                    continue
                keys.add(Key(message_id(head), info.size, int(info.internal_date)))
            self.keys = keys
        return self.keys

    def has(self, key: Key) -> bool:
        """True (and counted as a duplicate) when the folder already holds ``key``."""
        if key in self._existing():
            self.counts.duplicates += 1
            return True
        return False

    def add(
        self,
        data: bytes,
        flags: Iterable[str],
        date: float,
        uid: int | None = None,
        key: Key | None = None,
    ) -> bool:
        """File ``data`` unless it is here already; False when it was a duplicate or failed.

        ``key``: what the source said (an IMAP server's RFC822.SIZE); the key of the
        bytes themselves is checked too, so a server whose size is only an estimate
        costs a fetch on a re-run, never a second copy."""
        data = to_crlf(data) if data.count(b"\n") != data.count(b"\r\n") else data
        real = key_of(data, date)
        key = key or real
        if real != key and real in self._existing():
            self.counts.duplicates += 1
            return False
        if self.has(key):
            return False
        if len(data) > self.importer.max_size:
            self.fail(key.message_id or "a message", TooBig(f"{len(data)} bytes"))
            return False
        keys = self._existing()
        keys.update((key, real))  # taken now: a second copy in the source is a duplicate
        job = self.importer.writer.submit(data)
        self._pending.append(_Pending(job, clean_flags(flags), float(int(date)), uid,
                                      (key, real), len(data)))  # fmt: skip
        self._pending_bytes += len(data)
        self.flush(WINDOW)
        return True

    def flush(self, keep: int = 0) -> None:
        """Commit the files written ahead, in order, until ``keep`` remain in flight."""
        while self._pending and (len(self._pending) > keep or self._pending_bytes > WINDOW_BYTES):
            item = self._pending.popleft()
            self._pending_bytes -= item.size
            self._commit(item)

    def _commit(self, item: _Pending) -> None:
        writer = self.importer.writer
        what = item.keys[0].message_id or "a message"
        try:
            path = item.job.result()
        except OSError as exc:
            self._existing().difference_update(item.keys)
            self.fail(what, exc)
            return
        if self.keep_uids and item.uid:
            self.folder.mail.index.adopt_uids(self.folder.name, item.uid)
        try:
            self.folder.append_file(path, item.flags, item.date)
        except (StoreError, OSError) as exc:
            writer.discard(path)
            self._existing().difference_update(item.keys)
            self.fail(what, exc)
            if isinstance(exc, QuotaExceeded):
                raise
            return
        writer.done(path)
        self.counts.imported += 1

    def fail(self, what: str, exc: BaseException) -> None:
        self.counts.failed += 1
        reason = f"larger than the {self.importer.max_size}-byte limit ({exc})" if isinstance(
            exc, TooBig) else str(exc)  # fmt: skip
        self.importer.summary.errors.append(f"{self.folder.name}: {what}: {reason}")


class Importer:
    """Files messages into one user's folders; creates folders on first use."""

    def __init__(self, store: MailStore, address: str, *, max_size: int) -> None:
        self.mail: UserMail = store.user(address, create=True)
        self.max_size = max_size
        self.summary = Summary()
        self._targets: dict[str, Target] = {}
        self.writer = FileWriter(self.mail)

    def finish(self) -> None:
        """Commit every message still in flight (call once the sources are done)."""
        for target in self._targets.values():
            target.flush()

    def close(self) -> None:
        """Stop the writers; files not committed (an error stopped the import) go."""
        self.writer.close()

    def target(self, name: str, *, uidvalidity: int | None = None) -> Target:
        """The folder ``name`` (created with its parents when missing)."""
        canonical = normalize_folder(name or INBOX)
        found = self._targets.get(canonical)
        if found is None:
            if canonical in self.mail.folders():
                folder = self.mail.folder(canonical)
            else:
                folder = self.mail.create_folder(canonical)
            found = self._targets[canonical] = Target(self, folder, uidvalidity)
        return found

    def failed_folder(self, name: str, exc: BaseException) -> None:
        """A whole folder could not be read or made (a bad name, a server error)."""
        self.summary.counts(name).failed += 1
        self.summary.errors.append(f"{name}: {exc}")


__all__ = [
    "FolderCounts",
    "Importer",
    "InvalidFolderName",
    "Key",
    "Summary",
    "Target",
    "TooBig",
    "clean_flags",
    "header_section",
    "key_of",
    "message_id",
]
