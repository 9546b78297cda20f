"""A big APPEND literal, written to a file as it arrives (issue 15: never held whole).

Above ``[limits] spool_threshold`` the command reader hands the literal out in
chunks (:class:`~mailtool.protocol.imap.command_reader.LiteralData`); the
session writes them here, in CRLF form (RFC 9051 §2.2, as APPEND stores small
messages), to a file in the user's Maildir ``tmp/``: inside the data dir, on
the file system of every folder, so the APPEND moves it in by a rename. Every
way the command can end other than a stored message (an error, a disconnect, a
server stop) removes the file.
"""

from __future__ import annotations

import contextlib
import logging
import os

from mailtool.net.log import log_event
from mailtool.protocol.imap.crlf import CrlfStream


class Spool:
    """One literal being written; ``path=None`` drops the bytes (no user logged in:
    the command will be refused, nothing is kept). A file that cannot be written
    (disk full) is removed and the rest dropped: :meth:`finish` then gives None."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._crlf = CrlfStream()
        self._fd: int | None = None
        if path is not None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            try:
                self._fd = os.open(path, flags, 0o600)
            except OSError as exc:
                self._failed(exc)

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        view = memoryview(self._crlf.feed(data))
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        log_event("imap.spool_failed", path=self.path, error=str(exc), level=logging.ERROR)
        self.discard()

    def finish(self) -> str | None:
        """Close the file and hand over its path: the caller now removes it."""
        self._close()
        path, self.path = self.path, None
        return path

    def discard(self) -> None:
        self._close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


__all__ = ["Spool"]
