"""The PostgreSQL mail store: :class:`PgMailStore` -> :class:`PgUserMail` ->
:class:`~mailtool.store.pg.folder.PgFolder`, the twins of
:mod:`mailtool.store.mailstore`'s MailStore -> UserMail -> Folder (same public methods,
arguments, results and errors, so servers, the MDA and the CLI hold either)::

    store = PgMailStore(db, accounts=accounts)      # one per process (Stores.mail)
    mail = store.user("alice@a.test")               # a user the accounts know gets a mailbox
    uid = mail.deliver(message_bytes_or_file)       # durable (committed) when it returns
    inbox = mail.folder("INBOX")
    inbox.status(); inbox.messages(); inbox.open(uid)   # open: an io.RawIOBase over chunks
    unwatch = mail.watch(callback)                  # callback(Change) after each change

Schema: ``migrations/003_mail.sql``. Modules: :mod:`.bodies` (chunked bodies, streamed
both ways), :mod:`.mailindex` (``mail.index``: the read side and the IMAP caches, same
names as store/index.py's Index), :mod:`.folder` (the writes).

What has no meaning here: ``Folder.path``, ``Folder.file_path``, ``UserMail.maildir``
(use ``Folder.open`` / ``Folder.open_message`` and ``UserMail.tmp_path``).
``Folder.sync`` returns no changes: nothing is dropped behind the store's back.

Restore API (``mailtool store migrate``): :meth:`PgUserMail.import_message` puts one
message in with its UID, flags, internal date and MODSEQ (idempotent: False when the UID
exists), :meth:`PgFolder.set_state` sets UIDVALIDITY / raises UIDNEXT and HIGHESTMODSEQ
(any subset). A client in sync before the move stays in sync: same UIDVALIDITY, UIDs and
HIGHESTMODSEQ, so QRESYNC fetches nothing.

Change notification: watchers of this process are called after each commit, in the
thread that committed (as on SQLite). Other nodes hear of it through the change bus
(``bus``: :mod:`mailtool.store.pg.notify`), published inside the writer's transaction.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

from mailtool.errors import AlreadyExists, NotFound
from mailtool.store import address as addr
from mailtool.store.mailbase import Change, UserMailBase
from mailtool.store.maildir import (
    DEFAULT_FOLDERS,
    INBOX,
    SEP,
    InvalidFolderName,
    normalize_folder,
    unique_name,
)
from mailtool.store.pg.bodies import drop_unreferenced
from mailtool.store.pg.folder import PgFolder
from mailtool.store.pg.locks import AdvisoryLock, AdvisoryLocks
from mailtool.store.pg.mailindex import PgMailIndex, folder_id, new_uidvalidity, reading
from mailtool.store.pg.notify import ChangeBus

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.accounts import Accounts
    from mailtool.store.pg.db import Database

log = logging.getLogger(__name__)


class PgMailStore:
    """Every user's mail in one PostgreSQL database; one :class:`PgUserMail` per user."""

    def __init__(
        self, db: Database, *, accounts: Accounts | None = None, bus: ChangeBus | None = None
    ) -> None:
        self.db = db
        self.accounts = accounts
        #: the cross-node change bus (:mod:`.notify`): writers publish in their transaction,
        #: watchers hear other processes' and nodes' changes through it
        self.bus = bus if bus is not None else ChangeBus(db)
        #: POP3's maildrop locks across nodes (:mod:`.locks`)
        self.locks = AdvisoryLocks(db)
        self._users: dict[str, PgUserMail] = {}
        self._lock = threading.Lock()

    def user(self, address: str, *, create: bool = False) -> PgUserMail:
        """The mail of ``address``: NotFound when it has none, unless ``create`` or the
        accounts know the user (its mailbox is made on first use, on any node)."""
        local, domain = addr.split(address)
        key = f"{local}@{domain}"
        with self._lock:
            mail = self._users.get(key)
        if mail is not None:
            return mail
        if not self._has_mailbox(key):
            if not (create or self._account_exists(key)):
                raise NotFound(f"{key} has no mailbox")
            self._create_mailbox(key)
        with self._lock:
            return self._users.setdefault(key, PgUserMail(key, self))

    def _has_mailbox(self, key: str) -> bool:
        with reading(self.db) as conn:
            row = conn.execute("SELECT 1 FROM mail_users WHERE address = %s", (key,)).fetchone()
        return row is not None

    def _account_exists(self, key: str) -> bool:
        if self.accounts is None:
            return False
        try:
            self.accounts.get_user(key)
        except NotFound:
            return False
        return True

    def _create_mailbox(self, key: str) -> None:
        """The user row and the default folders (INBOX, Sent, ...); idempotent, and safe
        when two nodes do it at once (the user row's lock orders them)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO mail_users (address) VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            )
            for name in DEFAULT_FOLDERS:
                add_folder(conn, key, name)

    def close(self) -> None:
        self.bus.close()
        self.locks.close()
        with self._lock:
            self._users.clear()


def add_folder(conn: psycopg.Connection[Any], address: str, name: str) -> bool:
    """Insert a folder row with a fresh UIDVALIDITY; False when it exists."""
    exists = conn.execute(
        "SELECT 1 FROM mail_folders WHERE address = %s AND name = %s", (address, name)
    ).fetchone()
    if exists:
        return False
    uidvalidity = new_uidvalidity(conn, address)  # locks the user row: creators queue here
    row = conn.execute(
        "INSERT INTO mail_folders (address, name, uidvalidity) VALUES (%s, %s, %s)"
        " ON CONFLICT (address, name) DO NOTHING RETURNING id",
        (address, name, uidvalidity),
    ).fetchone()
    conn.execute(
        "DELETE FROM mail_lost_subscriptions WHERE address = %s AND name = %s", (address, name)
    )
    return row is not None


def purge_mail(conn: psycopg.Connection[Any], address: str) -> None:
    """Delete every folder, message and body of ``address`` inside the caller's transaction
    (removing a user with purge; ``address`` is the canonical ``local@domain``)."""
    bodies = conn.execute(
        "DELETE FROM mail_messages m USING mail_folders f WHERE f.id = m.folder_id"
        " AND f.address = %s RETURNING m.body_id",
        (address,),
    ).fetchall()
    conn.execute("DELETE FROM mail_users WHERE address = %s", (address,))
    drop_unreferenced(conn, [int(r[0]) for r in bodies])


class PgUserMail(UserMailBase):
    """One user's folders in PostgreSQL."""

    def __init__(self, address: str, store: PgMailStore) -> None:
        self.address = address
        self.db = store.db
        self.index = PgMailIndex(store.db, address)
        self._store = store
        self._init_watchers()

    def __repr__(self) -> str:
        return f"PgUserMail({self.address!r})"

    # ---- notifications

    def _listen(self) -> Callable[[], None]:
        """Other processes' and nodes' commits reach this one's watchers through the bus."""
        return self._store.bus.subscribe(self.address, self._changed_elsewhere)

    def _changed_elsewhere(self, change: Change) -> None:
        """Another process or node committed a change (the bus's thread); or, after the
        bus reconnected, ``Change("", "external", (), 0)``: look for yourselves."""
        self._notify(change.folder, change.kind, change.uids, change.modseq)

    def _publish(
        self, conn: psycopg.Connection[Any], folder: str, kind: str, uids: Iterable[int],
        modseq: int,
    ) -> None:  # fmt: skip
        """Tell the other nodes, inside the writer's transaction (sent at COMMIT only)."""
        self._store.bus.publish(conn, self.address, folder, kind, uids=list(uids), modseq=modseq)

    def maildrop_lock(self) -> AdvisoryLock | None:
        """RFC 1939 §8: the exclusive maildrop lock, across every node (an advisory
        lock, :mod:`.locks`), held; None when another session holds it."""
        return self._store.locks.maildrop(self.address)

    # ---- folders

    def sync_folders(self) -> list[str]:
        return self.folders()

    def folders(self) -> list[str]:
        """Folder names (IMAP, '/' separated), INBOX first."""
        names = self.index.folder_names()
        return [INBOX, *[n for n in names if n != INBOX]] if INBOX in names else names

    def folder(self, name: str) -> PgFolder:
        canonical = normalize_folder(name)
        with reading(self.db) as conn:
            folder_id(conn, self.address, canonical)  # NotFound
        return PgFolder(self, canonical)

    def create_folder(self, name: str) -> PgFolder:
        """Create ``name`` and any missing parents (``a/b/c`` makes ``a`` and ``a/b``)."""
        canonical = normalize_folder(name)
        parts = canonical.split(SEP)
        with self.db.transaction() as conn:
            for i in range(1, len(parts)):
                add_folder(conn, self.address, SEP.join(parts[:i]))
            if not add_folder(conn, self.address, canonical) and canonical != INBOX:
                raise AlreadyExists(f"folder {canonical!r} exists already")
            self._publish(conn, canonical, "folders", (), 0)
        self._notify(canonical, "folders", (), 0)
        return PgFolder(self, canonical)

    def delete_folder(self, name: str) -> None:
        """Delete ``name`` and its messages (not its children); the subscription stays."""
        canonical = normalize_folder(name)
        if canonical == INBOX:
            raise InvalidFolderName("INBOX cannot be deleted")
        with self.db.transaction() as conn:
            fid = folder_id(conn, self.address, canonical, lock=True)
            # RFC 9051 §6.3.5: DELETE leaves the subscription (LIST shows \NonExistent)
            conn.execute(
                "INSERT INTO mail_lost_subscriptions (address, name) SELECT address, name"
                " FROM mail_folders WHERE id = %s AND subscribed ON CONFLICT DO NOTHING",
                (fid,),
            )
            bodies = conn.execute(
                "DELETE FROM mail_messages WHERE folder_id = %s RETURNING body_id", (fid,)
            ).fetchall()
            conn.execute("DELETE FROM mail_folders WHERE id = %s", (fid,))
            drop_unreferenced(conn, [int(r[0]) for r in bodies])
            self._publish(conn, canonical, "folders", (), 0)
        self._metadata_call("remove_mailbox", canonical)
        self._notify(canonical, "folders", (), 0)

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder and its children; renaming INBOX moves its mail (RFC 9051 §6.3.6)."""
        src, dst = normalize_folder(old), normalize_folder(new)
        if src == INBOX:
            inbox = self.folder(INBOX)
            target = self.create_folder(dst)
            inbox.move([m.uid for m in inbox.messages()], target.name)
            self._notify(src, "folders", (), 0)
            return
        if dst == INBOX:
            raise InvalidFolderName("INBOX cannot be renamed here (the mail store moves its mail)")
        if dst == src or dst.startswith(src + SEP):
            raise InvalidFolderName(f"cannot rename {src!r} into itself")
        with self.db.transaction() as conn:
            folder_id(conn, self.address, src, lock=True)  # NotFound
            if conn.execute(
                "SELECT 1 FROM mail_folders WHERE address = %s AND name = %s", (self.address, dst)
            ).fetchone():
                raise AlreadyExists(f"folder {dst!r} exists already")
            conn.execute(
                "UPDATE mail_folders SET name = %s || substr(name, length(%s) + 1)"
                " WHERE address = %s AND (name = %s OR left(name, length(%s) + 1) = %s)",
                (dst, src, self.address, src, src, src + SEP),
            )
            self._publish(conn, src, "folders", (), 0)
        self._metadata_call("rename_mailbox", src, dst)
        self._notify(src, "folders", (), 0)

    def subscribe(self, name: str, subscribed: bool = True) -> None:
        try:
            canonical = self.folder(name).name
        except NotFound:
            if subscribed:
                raise
            canonical = name  # a subscription that outlived its folder (RFC 9051 §6.3.8)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE mail_folders SET subscribed = %s WHERE address = %s AND name = %s",
                (subscribed, self.address, canonical),
            )
            conn.execute(
                "DELETE FROM mail_lost_subscriptions WHERE address = %s AND name = %s",
                (self.address, canonical),
            )
            self._publish(conn, canonical, "subscriptions", (), 0)
        self._notify(canonical, "subscriptions", (), 0)  # IMAP NOTIFY SubscriptionChange

    # ---- METADATA (RFC 5464): PG-ACCOUNTS' table, kept with the folders it names

    @property
    def metadata(self) -> Any:
        """The user's METADATA entries (RFC 5464) on this backend."""
        from mailtool.store.pg import metadata  # type: ignore[attr-defined]

        return metadata.PgMetadata(self.db, self.address)

    def _metadata_call(self, method: str, *args: str) -> None:
        try:
            getattr(self.metadata, method)(*args)
        except ImportError:
            return  # no METADATA twin in this build yet

    # ---- delivery and quota

    def deliver(
        self,
        message: bytes | BinaryIO,
        folder: str = INBOX,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        size: int | None = None,
    ) -> int:
        """File a message (MDA); committed when it returns the new UID."""
        target = PgFolder(self, normalize_folder(folder))  # append raises NotFound if missing
        return target.append(message, flags, internal_date, size=size).uid

    def tmp_path(self) -> str:
        """A node-local file name to spool a big IMAP APPEND into before
        :meth:`PgFolder.append_file` streams it in (the caller removes it)."""
        return os.path.join(tempfile.gettempdir(), f"mailtool-spool-{unique_name()}")

    def import_message(self, folder: str, **fields: Any) -> bool:
        """Restore one message as it was: ``uid``, ``flags``, ``internal_date``,
        ``modseq``, ``data`` (see :meth:`PgFolder.import_message`)."""
        return self.folder(folder).import_message(**fields)


__all__ = ["PgFolder", "PgMailStore", "PgUserMail", "add_folder", "purge_mail"]
