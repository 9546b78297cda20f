"""One user's IMAP METADATA entries (RFC 5464) in PostgreSQL: the twin of
:class:`mailtool.store.metadata.Metadata` (``PgUserMail.metadata``).

Rows of ``imap_metadata`` (005_shared.sql) keyed by (address, mailbox, entry); the
server's entries are the mailbox ``""``, entry names lower case (RFC 5464 §3.2). A SET
is all or nothing (RFC 5464 §4.3) and checks the user's limits inside its transaction
under a per-user advisory lock, so two nodes setting at once cannot both pass a limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mailtool.store.metadata import MetadataLimits, MetadataTooLarge, MetadataTooMany
from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import one, rows
from mailtool.store.pg.sieve_state import user_lock

_DEFAULT_LIMITS = MetadataLimits()


def _like_prefix(name: str) -> str:
    """A LIKE pattern for the names under ``name/`` (its own % and _ taken literally)."""
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


class PgMetadata:
    """One user's entries; every method one transaction."""

    def __init__(self, db: Database, address: str) -> None:
        self.db = db
        self.address = address

    def close(self) -> None:
        """Nothing to close: the pool is the store's."""

    # ------------------------------------------------------------------ read
    def get(self, mailbox: str, entries: Iterable[str], depth: int = 0) -> list[tuple[str, bytes]]:
        """``(entry, value)`` of each entry that exists, and of its descendants to
        ``depth`` levels (-1: all; RFC 5464 §4.2.2), ordered by name, no duplicates."""
        found: dict[str, bytes] = {}
        for raw in entries:
            entry = raw.lower()
            base = entry.count("/")
            for name, value in rows(
                self.db,
                "SELECT entry, value FROM imap_metadata WHERE address = %s AND mailbox = %s"
                " AND (entry = %s OR entry LIKE %s)",
                (self.address, mailbox, entry, _like_prefix(entry)),
            ):
                if name == entry or depth < 0 or name.count("/") - base <= depth:
                    found[name] = bytes(value)
        return sorted(found.items())

    def usage(self) -> tuple[int, int]:
        """(entries, bytes of values) of this user."""
        row = one(
            self.db,
            "SELECT count(*), coalesce(sum(octet_length(value)), 0) FROM imap_metadata"
            " WHERE address = %s",
            (self.address,),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # ----------------------------------------------------------------- write
    def set(
        self,
        mailbox: str,
        values: Sequence[tuple[str, bytes | None]],
        limits: MetadataLimits = _DEFAULT_LIMITS,
    ) -> None:
        """Set (``bytes``) or remove (``None``) entries of ``mailbox``, all or none
        (RFC 5464 §4.3); raises :class:`MetadataTooLarge` / :class:`MetadataTooMany`."""
        for _, value in values:
            if value is not None and len(value) > limits.max_entry_size:
                raise MetadataTooLarge(limits.max_entry_size)
        with self.db.transaction() as conn:
            user_lock(conn, "metadata", self.address)
            for entry, value in values:
                if value is None:
                    conn.execute(
                        "DELETE FROM imap_metadata WHERE address = %s AND mailbox = %s"
                        " AND entry = %s",
                        (self.address, mailbox, entry.lower()),
                    )
                else:
                    conn.execute(
                        "INSERT INTO imap_metadata (address, mailbox, entry, value)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT (address, mailbox, entry)"
                        " DO UPDATE SET value = EXCLUDED.value",
                        (self.address, mailbox, entry.lower(), value),
                    )
            row = conn.execute(
                "SELECT count(*), coalesce(sum(octet_length(value)), 0) FROM imap_metadata"
                " WHERE address = %s",
                (self.address,),
            ).fetchone()
            if row is not None and (row[0] > limits.max_entries or row[1] > limits.max_total):
                raise MetadataTooMany("too many metadata entries")  # rolls back

    def rename_mailbox(self, old: str, new: str) -> None:
        """RENAME moves a mailbox's entries, and its children's, with it."""
        if old == new:
            return
        with self.db.transaction() as conn:
            # left behind by a folder removed behind our back: the renamed mailbox's win
            conn.execute(
                "DELETE FROM imap_metadata WHERE address = %s AND (mailbox = %s"
                " OR mailbox LIKE %s)",
                (self.address, new, _like_prefix(new)),
            )
            conn.execute(
                "UPDATE imap_metadata SET mailbox = %s || substr(mailbox, %s)"
                " WHERE address = %s AND (mailbox = %s OR mailbox LIKE %s)",
                (new, len(old) + 1, self.address, old, _like_prefix(old)),
            )

    def remove_mailbox(self, name: str) -> None:
        """DELETE takes the mailbox's entries with it (a new mailbox of the same name
        starts without any)."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM imap_metadata WHERE address = %s AND mailbox = %s",
                (self.address, name),
            )
