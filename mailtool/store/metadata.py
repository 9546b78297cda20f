"""Per-user IMAP METADATA entries (RFC 5464): server and per-mailbox annotations.

Stored in their own SQLite file beside the index, ``<Maildir>/mailtool-metadata.sqlite``,
not in a table of the index: the index can be rebuilt from the Maildir and is opened
with ``synchronous=NORMAL``, while these values exist nowhere else, so their commits
must be durable (``FULL``) like the account database's. The file is made on the first
SETMETADATA only: users who never annotate pay nothing, and a RENAME or DELETE of a
mailbox of such a user opens nothing.

Entry names are stored lower-case (RFC 5464 §3.2: entry names are case-insensitive;
Dovecot answers in lower case too). The server's entries are the mailbox ``""``.
``/shared`` entries live with the user's mail like ``/private`` ones: without
shared mailboxes (no ACL, RFC 4314) only the user can read either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mailtool.errors import StoreError
from mailtool.store.sqlite import Database

METADATA_FILE = "mailtool-metadata.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    mailbox TEXT NOT NULL,
    entry TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (mailbox, entry)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class MetadataLimits:
    """RFC 5464 §4.3 lets a server bound what it keeps; ``[limits] imap_metadata_*``."""

    #: bytes of one value (beyond it: ``NO [METADATA MAXSIZE n]``)
    max_entry_size: int = 64 * 1024
    #: entries of one user, server and mailboxes together (``NO [METADATA TOOMANY]``)
    max_entries: int = 1000
    #: bytes of all of one user's values (``NO [METADATA TOOMANY]`` too)
    max_total: int = 1024 * 1024


class MetadataTooLarge(StoreError):
    """A value is over :attr:`MetadataLimits.max_entry_size`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"metadata value over {limit} bytes")
        self.limit = limit


class MetadataTooMany(StoreError):
    """The user's entries (count or bytes) would go over their limit."""


class Metadata:
    """One user's entries; thread-safe (the store's Database serialises)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: Database | None = None
        self._lock = threading.Lock()

    def _open(self, *, create: bool) -> Database | None:
        with self._lock:
            if self._db is None and (create or self.path.exists()):
                self._db = Database(self.path, _SCHEMA)
            return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ------------------------------------------------------------------ read
    def get(self, mailbox: str, entries: Iterable[str], depth: int = 0) -> list[tuple[str, bytes]]:
        """``(entry, value)`` of each entry that exists, and of its descendants to
        ``depth`` levels (-1: all; RFC 5464 §4.2.2), ordered by name, no duplicates."""
        db = self._open(create=False)
        if db is None:
            return []
        found: dict[str, bytes] = {}
        for raw in entries:
            entry = raw.lower()
            rows = db.rows(
                "SELECT entry, value FROM entries WHERE mailbox = ? AND "
                "(entry = ? OR substr(entry, 1, ?) = ?)",
                (mailbox, entry, len(entry) + 1, entry + "/"),
            )
            base = entry.count("/")
            for name, value in rows:
                if name == entry or depth < 0 or name.count("/") - base <= depth:
                    found[name] = bytes(value)
        return sorted(found.items())

    def usage(self) -> tuple[int, int]:
        """(entries, bytes of values) of this user."""
        db = self._open(create=False)
        if db is None:
            return 0, 0
        count, size = db.rows("SELECT count(*), coalesce(sum(length(value)), 0) FROM entries")[0]
        return int(count), int(size)

    # ----------------------------------------------------------------- write
    def set(
        self,
        mailbox: str,
        values: Sequence[tuple[str, bytes | None]],
        limits: MetadataLimits = MetadataLimits(),  # frozen: one shared default is safe
    ) -> None:
        """Set (``bytes``) or remove (``None``) entries of ``mailbox``, all or none
        (RFC 5464 §4.3); raises :class:`MetadataTooLarge` / :class:`MetadataTooMany`."""
        for _, value in values:
            if value is not None and len(value) > limits.max_entry_size:
                raise MetadataTooLarge(limits.max_entry_size)
        if all(value is None for _, value in values) and not self.path.exists():
            return  # removing from nothing
        db = self._open(create=True)
        assert db is not None
        with db.write() as tx:
            for entry, value in values:
                if value is None:
                    tx.execute(
                        "DELETE FROM entries WHERE mailbox = ? AND entry = ?",
                        (mailbox, entry.lower()),
                    )
                else:
                    tx.execute(
                        "INSERT OR REPLACE INTO entries (mailbox, entry, value) VALUES (?, ?, ?)",
                        (mailbox, entry.lower(), value),
                    )
            count, size = tx.execute(
                "SELECT count(*), coalesce(sum(length(value)), 0) FROM entries"
            ).fetchone()
            if count > limits.max_entries or size > limits.max_total:
                raise MetadataTooMany("too many metadata entries")  # rolls back

    def rename_mailbox(self, old: str, new: str) -> None:
        """RENAME moves a mailbox's entries, and its children's, with it."""
        db = self._open(create=False)
        if db is None or old == new:
            return
        with db.write() as tx:
            # left behind by a folder removed behind our back (not by DELETE): the
            # renamed mailbox's entries win, and the UPDATE cannot collide
            tx.execute(
                "DELETE FROM entries WHERE mailbox = ? OR substr(mailbox, 1, ?) = ?",
                (new, len(new) + 1, new + "/"),
            )
            tx.execute(
                "UPDATE entries SET mailbox = ? || substr(mailbox, ?) "
                "WHERE mailbox = ? OR substr(mailbox, 1, ?) = ?",
                (new, len(old) + 1, old, len(old) + 1, old + "/"),
            )

    def remove_mailbox(self, name: str) -> None:
        """DELETE takes the mailbox's entries with it (a new mailbox of the same name
        starts without any)."""
        db = self._open(create=False)
        if db is None:
            return
        with db.write() as tx:
            tx.execute("DELETE FROM entries WHERE mailbox = ?", (name,))


__all__ = [
    "METADATA_FILE",
    "Metadata",
    "MetadataLimits",
    "MetadataTooLarge",
    "MetadataTooMany",
]
