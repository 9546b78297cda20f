"""DATA content while it arrives: in memory while small, in an unlinked file once big.

Postfix never holds a message whole while receiving it; neither do we. Up to
``[limits] spool_threshold`` bytes stay in memory (most mail is a few KB, and
a file per message would cost system calls for nothing); past it the content
goes to a file under the queue's ``tmp/`` directory in the data dir (never
/tmp), mode 0600, which has no name at all: ``O_TMPFILE`` where the file
system has it, else created and unlinked at once. So the file disappears on
every path — the message accepted, RSET, a refusal, the client vanishing, the
server killed — without any clean-up code that could be skipped.

An unfinished transfer therefore costs at most the threshold in memory, and
ten clients each sending 20 MB and never finishing cost ~10 × 1 MiB, not 200 MB.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mailtool.store import ids


def open_anonymous(directory: Path) -> int:
    """A read-write file descriptor on a new 0600 file in ``directory`` that has no
    name (gone as soon as the descriptor is closed, or the process dies)."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            return os.open(directory, flags | tmpfile, 0o600)
        except OSError:
            pass  # a file system without O_TMPFILE: a named file, unlinked at once
    path = directory / f"smtp-data.{ids.token_hex(8)}"
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    os.unlink(path)
    return fd


class DataSpool:
    """Chunks of DATA content; :meth:`getvalue` gives them back whole at the end."""

    def __init__(self, directory: Path, threshold: int) -> None:
        self.directory = directory
        self.threshold = threshold
        self.size = 0
        self._chunks: list[bytes] = []
        self._fd: int | None = None

    @property
    def spooled(self) -> bool:
        """Whether the content went to a file."""
        return self._fd is not None

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self._fd is None:
            self._chunks.append(chunk)
            if self.size <= self.threshold:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = open_anonymous(self.directory)
            chunk = b"".join(self._chunks)
            self._chunks.clear()
        _write_all(self._fd, chunk)

    def getvalue(self) -> bytes:
        """The whole content (one copy in memory: the queue, the MDA, DKIM and the
        scanners take bytes)."""
        if self._fd is None:
            return b"".join(self._chunks)
        data = os.pread(self._fd, self.size, 0)  # one allocation (a regular file reads whole)
        parts = [data]
        offset = len(data)
        while offset < self.size:  # not seen on Linux below 2 GB; for the rule's sake
            more = os.pread(self._fd, self.size - offset, offset)
            if not more:
                break
            parts.append(more)
            offset += len(more)
        return data if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        """Drop the content (the file with it); safe to call twice."""
        self._chunks.clear()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> DataSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
