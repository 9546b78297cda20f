"""Exclusive locks the stores hand out: POP3's maildrop lock on either backend.

RFC 1939 §8: a POP3 server takes an exclusive lock on the maildrop for the session.
``UserMail.maildrop_lock()`` returns a held :class:`Lock` or None when another session
(in this process, another process or, on PostgreSQL, another node) holds it:

* SQLite + Maildir: :class:`FileLock`, an ``flock`` on ``<maildir>/mailtool-pop3.lock``.
  flock locks belong to an open file description, so a second session in the same process
  conflicts just like one in another process; a crashed process releases it with its
  file descriptors.
* PostgreSQL: :class:`mailtool.store.pg.locks.AdvisoryLock`, a session-level advisory
  lock; a dead node's locks go with its connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Protocol

#: the maildrop lock's file in a user's Maildir (SQLite backend)
MAILDROP_LOCK_FILE = "mailtool-pop3.lock"


class Lock(Protocol):
    """A held lock; :meth:`release` is idempotent."""

    def release(self) -> None: ...


class FileLock:
    """An exclusive, non-blocking ``flock`` on one file; :meth:`release` is idempotent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when we now hold the lock, False when someone else does."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def try_file_lock(path: Path) -> FileLock | None:
    """The held lock on ``path``, or None when someone else holds it."""
    lock = FileLock(path)
    return lock if lock.acquire() else None


__all__ = ["MAILDROP_LOCK_FILE", "FileLock", "Lock", "try_file_lock"]
