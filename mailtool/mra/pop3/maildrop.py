"""The POP3 maildrop: a locked snapshot of one user's INBOX for one session.

RFC 1939 §8: the server acquires an exclusive lock on the maildrop when the
session enters the TRANSACTION state, numbers the messages 1..n as they were
then, and only changes the maildrop in the UPDATE state (after QUIT). So:

* the lock is the store's ``UserMail.maildrop_lock()`` (:mod:`mailtool.store.locks`):
  an ``flock`` in the Maildir on SQLite, an advisory lock on PostgreSQL, so a
  second session conflicts whether it is in this process, another process or
  another node; a crashed process (or node) releases it;
* the snapshot comes from the store's index (sizes without opening files);
  DELE only marks, RSET unmarks, :meth:`Maildrop.commit` expunges through
  the store, so IMAP sessions see ordinary expunges (MODSEQ, VANISHED);
* UIDL is Dovecot's default ``%08Xu%08Xv`` (UID then UIDVALIDITY, upper-case
  hex): stable for as long as the message lives and never reused, because
  UIDs are never reused within a UIDVALIDITY (RFC 1939 §7).

IMAP keeps working on the same INBOX meanwhile; a message IMAP expunges
before POP3 reads it gives ``-ERR`` for that message only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from mailtool.errors import NotFound
from mailtool.store.interfaces import MaildropLock as Lock

INBOX = "INBOX"


class MaildropInUse(Exception):
    """Another POP3 session holds the maildrop (RFC 2449 §8.1.1 ``[IN-USE]``)."""


def uidl_of(uid: int, uidvalidity: int) -> str:
    """RFC 1939 §7 unique-id: 16 hex digits, Dovecot's default ``%08Xu%08Xv``."""
    return f"{uid:08X}{uidvalidity:08X}"


@dataclass
class Entry:
    """One message of the snapshot, by its POP3 message number."""

    number: int
    uid: int
    size: int
    uidl: str
    path: str  # relative to the folder, as the index last saw it
    deleted: bool = False


class NoSuchMessage(Exception):
    """The number is outside 1..n or the message is marked deleted (RFC 1939 §5)."""


class Maildrop:
    """The session's view of INBOX: messages numbered from 1, marks kept in memory."""

    def __init__(self, folder: Any, lock: Lock) -> None:
        self.folder = folder
        self.lock = lock
        status = folder.status()
        self.uidvalidity: int = status.uidvalidity
        self.entries = [
            Entry(i, m.uid, m.size, uidl_of(m.uid, self.uidvalidity), m.path)
            for i, m in enumerate(folder.messages(), start=1)
        ]
        self.retrieved: set[int] = set()
        #: the folder's directory as a string (Maildir), None where messages are no files
        folder_path = getattr(folder, "path", None)
        self._dir: str | None = None if folder_path is None else os.fspath(folder_path)
        self._prefix = "" if self._dir is None else os.path.join(self._dir, "")

    @classmethod
    def open(cls, mail_store: Any, user: str) -> Maildrop:
        """Lock ``user``'s INBOX and snapshot it; :class:`MaildropInUse` when locked.

        Blocking (file system, SQLite or PostgreSQL): call it from a worker thread.
        """
        mail = mail_store.user(user, create=True)
        lock = mail.maildrop_lock()
        if lock is None:
            raise MaildropInUse(user)
        try:
            folder = mail.folder(INBOX)
            folder.sync()  # files other programs dropped get their UIDs now
            return cls(folder, lock)
        except BaseException:
            lock.release()
            raise

    # ---- what the TRANSACTION commands read

    def get(self, number: int) -> Entry:
        if not 1 <= number <= len(self.entries):
            raise NoSuchMessage(f"no message {number}")
        entry = self.entries[number - 1]
        if entry.deleted:
            raise NoSuchMessage(f"message {number} already deleted")
        return entry

    def live(self) -> list[Entry]:
        return [e for e in self.entries if not e.deleted]

    def stat(self) -> tuple[int, int]:
        live = self.live()
        return len(live), sum(e.size for e in live)

    @property
    def local_files(self) -> bool:
        """Messages are files here (Maildir): opening and reading one is page-cache work,
        done on the event loop; else (PostgreSQL) every read asks the database, which
        goes to a thread (DESIGN principle 6: a slow or restarting database must not
        stall the other sessions)."""
        return self._dir is not None

    def read_whole(self, entry: Entry, limit: int) -> bytes | None:
        """The message file of ``entry`` when it is smaller than ``limit`` octets, read
        with one open(2), one read(2) and one close(2) (no file object, no fstat);
        None when it may be larger, when messages are no files (PostgreSQL) or when
        the file is not where the snapshot saw it: the caller then streams it from
        :meth:`open_message`. A Maildir file is never larger than its CRLF size, the
        index's ``entry.size``, and a regular file's short read is its end."""
        want = entry.size + 1
        if self._dir is None or want > limit:
            return None
        try:
            fd = os.open(self._prefix + entry.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            data = os.read(fd, want)
        finally:
            os.close(fd)
        return data if len(data) < want else None

    def open_message(self, number: int) -> BinaryIO:
        """The message file for RETR/TOP; NoSuchMessage when IMAP expunged it meanwhile.

        Tries the path from the snapshot first (one ``open``, no index query); when
        another program renamed the file (flags changed), asks the store."""
        entry = self.get(number)
        if self._dir is not None:
            try:  # unbuffered: a small message is one read(2), no lseek/ioctl
                return open(os.path.join(self._dir, entry.path), "rb", buffering=0)
            except FileNotFoundError:
                pass
        try:
            return self.folder.open(entry.uid)
        except (NotFound, FileNotFoundError):
            raise NoSuchMessage(f"message {number} was removed by another session") from None

    # ---- marks

    def dele(self, number: int) -> None:
        self.get(number).deleted = True

    def rset(self) -> None:
        """RFC 1939 §5 RSET: unmark everything."""
        for entry in self.entries:
            entry.deleted = False

    # ---- UPDATE state and the end of the session

    def commit(self) -> list[int]:
        """RFC 1939 §6: expunge the marked messages through the store (and set ``\\Seen``
        on the retrieved ones, as Dovecot does); returns the expunged UIDs. Blocking."""
        doomed = [e.uid for e in self.entries if e.deleted]
        seen = sorted(self.retrieved - set(doomed))
        if seen:
            self.folder.store(seen, ["\\Seen"], "add")
        if not doomed:
            return []
        self.folder.store(doomed, ["\\Deleted"], "add")
        return self.folder.expunge(doomed)

    def close(self) -> None:
        """Release the lock without touching the messages (a dropped session, RFC 1939 §6)."""
        self.lock.release()
