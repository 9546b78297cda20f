"""Opened message bodies, kept on disk for reading offline.

Each body the reader fetched is one file under
``$XDG_CACHE_HOME/mailtool/bodies/ACCOUNT/``, mode 0600 in a 0700 directory
(not encrypted at rest: it is as private as the user's home). The cache is
bounded by ``[tui] body_cache_mb``: past the cap the least recently read
bodies go first (LRU by file mtime, touched on every read). A file is named
by a hash of (folder, UIDVALIDITY, UID): a UID means the same message only
under the same UIDVALIDITY (RFC 9051 §2.3.1.1), so a renumbered folder's old
bodies are never shown for new messages (they age out).

Also here: the drafts :mod:`mailtool.client.sendpath` saved to local files
while IMAP was unreachable, found again to be offered for sending.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mailtool.client.cache import cache_dir
from mailtool.client.reading import parse
from mailtool.client.sendpath import local_drafts_dir

#: the default cap, ``[tui] body_cache_mb``
DEFAULT_MB = 200


class BodyCache:
    """One account's bodies; see the module docstring. ``max_bytes`` 0 disables it."""

    def __init__(self, account: str, *, max_bytes: int = DEFAULT_MB * 2**20,
                 directory: Path | None = None) -> None:
        self.directory = (directory or cache_dir() / "bodies") / _safe(account)
        self.max_bytes = max_bytes
        self._total: int | None = None  # bytes on disk, counted once, then kept up to date

    @staticmethod
    def _name(folder: str, uidvalidity: int, uid: int) -> str:
        return hashlib.sha256(f"{folder}\0{uidvalidity}\0{uid}".encode()).hexdigest() + ".eml"

    def get(self, folder: str, uidvalidity: int, uid: int) -> bytes | None:
        """The cached body, or None; a hit counts as a use (LRU)."""
        path = self.directory / self._name(folder, uidvalidity, uid)
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        return data

    def put(self, folder: str, uidvalidity: int, uid: int, raw: bytes) -> None:
        """Keep ``raw``, then drop the least recently read bodies beyond the cap. A
        body larger than the whole cap is not kept."""
        if len(raw) > self.max_bytes:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / self._name(folder, uidvalidity, uid)
        total = self.total()
        with contextlib.suppress(FileNotFoundError):
            total -= path.stat().st_size
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
        self._total = total + len(raw)
        if self._total > self.max_bytes:
            self._evict()

    def total(self) -> int:
        if self._total is None:
            self._total = sum(size for _m, size, _p in self._files())
        return self._total

    def _files(self) -> list[tuple[float, int, Path]]:
        out = []
        for path in self.directory.glob("*.eml") if self.directory.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                out.append((st.st_mtime, st.st_size, path))
        return out

    def _evict(self) -> None:
        files = sorted(self._files())  # oldest use first
        total = sum(size for _m, size, _p in files)
        for _mtime, size, path in files:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._total = total


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


@dataclass(frozen=True)
class LocalDraft:
    """A draft saved to a local file because IMAP was down when it was written or sent."""

    path: Path
    sender: str
    to: str
    subject: str

    @property
    def summary(self) -> str:
        return f"To {self.to or '(nobody)'}: {self.subject or '(no subject)'}"


def local_drafts(email_address: str) -> list[LocalDraft]:
    """The local drafts written from ``email_address`` (the From), oldest first."""
    directory = local_drafts_dir()
    found = []
    paths = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime) \
        if directory.is_dir() else []
    for path in paths:
        try:
            msg = parse(path.read_bytes())
        except OSError:
            continue
        sender = email.utils.parseaddr(str(msg.get("From", "")))[1]
        if sender.lower() == email_address.lower():
            found.append(LocalDraft(path, sender, str(msg.get("To", "")),
                                    str(msg.get("Subject", ""))))
    return found
