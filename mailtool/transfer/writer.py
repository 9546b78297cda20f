"""Message files written a few at a time, ahead of the in-order commit.

An import is bound by fsync: each message costs one for its file and one for its
folder's directory. :class:`FileWriter` writes and fsyncs the files of the next
messages on :data:`WORKERS` threads (into the user's Maildir ``tmp/``, from
``UserMail.tmp_path()``), while the importer renames them in and commits their
index entries one by one, in the source's order (UIDs follow it, and Dovecot's
UIDs are adopted one message at a time). At most :data:`WINDOW` messages and
:data:`WINDOW_BYTES` bytes are in flight. A message not committed when the import
stops is removed from ``tmp/``; a ``kill -9`` may leave up to :data:`WINDOW` files
there, never one in a folder.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor

from mailtool.store.interfaces import UserMailbox as UserMail
from mailtool.store.maildir import write_durably

WORKERS = 4
#: messages written ahead of the commit
WINDOW = 16
#: bytes of message data held for the writers at most
WINDOW_BYTES = 32 * 1024 * 1024


class FileWriter:
    """Writes message files durably on worker threads; each future is the path."""

    def __init__(self, mail: UserMail) -> None:
        self.mail = mail
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="import-write")
        self._open: set[str] = set()

    def submit(self, data: bytes) -> Future[str]:
        path = self.mail.tmp_path()
        self._open.add(path)
        return self._pool.submit(self._write, path, data)

    @staticmethod
    def _write(path: str, data: bytes) -> str:
        write_durably(path, data)
        return path

    def done(self, path: str) -> None:
        """``path`` was renamed into a folder (or removed): no longer ours to clean."""
        self._open.discard(path)

    def discard(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.done(path)

    def close(self) -> None:
        """Wait for the writers, then remove every file not committed."""
        self._pool.shutdown(wait=True)
        for path in list(self._open):
            self.discard(path)


__all__ = ["WINDOW", "WINDOW_BYTES", "WORKERS", "FileWriter"]
