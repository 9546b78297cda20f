"""Sieve scripts on disk: each user's named scripts with one active, the global script,
per-user filter settings, and the vacation reply memory.

Layout under ``<data_dir>/sieve/``::

    global.sieve                       runs before every user's script
    <domain>/<local>/scripts/<name>.sieve   named scripts (ManageSieve, ``sieve set``)
    <domain>/<local>/active            the active script's name (absent: none)
    <domain>/<local>/settings.json     built-in rules switched on (e.g. promotions)
    <domain>/<local>/vacation.json     sender+handle -> last reply time (RFC 5230 §4.2)

Every write is tmp file -> fsync -> rename -> fsync directory (DESIGN principle
1), so a crash leaves the old script or the new one, never half of one.
Script names are percent-encoded into file names: no name can reach outside
the user's directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.store import address as addr
from mailtool.store.maildir import fsync_dir, unique_name, write_file
from mailtool.store.paths import DataDir

if TYPE_CHECKING:
    from mailtool.store.sieve_state import DuplicateLog, NotifyLog

SUFFIX = ".sieve"
GLOBAL = "global.sieve"
#: our bound on a script name (RFC 5804 §1.6 leaves it to the server)
MAX_NAME = 128
#: vacation memory: entries kept at most this long, and at most this many per user
VACATION_KEEP_SECONDS = 90 * 86400
VACATION_MAX_ENTRIES = 10_000


class InvalidScriptName(StoreError):
    """A script name RFC 5804 §1.6 forbids (control characters) or too long."""


def check_name(name: str) -> str:
    """RFC 5804 §1.6: any Unicode except CTL (and C1 / line separators); non-empty."""
    if not name or len(name) > MAX_NAME:
        raise InvalidScriptName(f"a script name has 1 to {MAX_NAME} characters")
    bad = [c for c in name if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029"]
    if bad:
        raise InvalidScriptName(f"script name {name!r} contains control characters")
    return name


def _file_name(name: str) -> str:
    return quote(check_name(name), safe=" -_.@+=,") + SUFFIX


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably: tmp -> fsync -> rename -> fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp.{unique_name()}"
    try:
        write_file(tmp, data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool
    size: int


class SieveScripts:
    """All Sieve scripts of one data dir."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = DataDir(data_dir).sieve
        # path -> ((inode, size, mtime, ctime), text): every delivery asks for the global
        # script, the user's active script and settings; a stat tells whether the copy
        # read last time is still the file (atomic_write renames: a new inode each time)
        self._files: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self._dirs: dict[str, Path] = {}  # user -> user_dir(user)

    def _text(self, path: str) -> str | None:
        """The file's text (UTF-8), None when it does not exist; read again only when
        a stat shows it changed, so ``sieve set`` / ManageSieve apply to the next
        delivery while an unchanged script costs one stat."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._files.pop(path, None)
            return None
        known = self._files.get(path)
        if known is not None and known[0] == (
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
        ):
            return known[1]
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())  # the key of what is read, if it changed meanwhile
                text = fh.read().decode("utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        if len(self._files) > 4096:
            self._files.clear()
        self._files[path] = ((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns), text)
        return text

    # ---------------------------------------------------------------- paths

    def user_dir(self, user: str) -> Path:
        # a delivery asks ~5 times (bench/bench_sieve.py): the Path is kept per user
        found = self._dirs.get(user)
        if found is None:
            if len(self._dirs) > 4096:
                self._dirs.clear()
            local, domain = addr.split(user)
            found = self._dirs[user] = self.root / domain / local
        return found

    def _scripts(self, user: str) -> Path:
        return self.user_dir(user) / "scripts"

    def _path(self, user: str, name: str) -> Path:
        return self._scripts(user) / _file_name(name)

    # ---------------------------------------------------------------- named scripts

    def list(self, user: str) -> list[ScriptInfo]:
        folder = self._scripts(user)
        active = self.active_name(user)
        out: list[ScriptInfo] = []
        if folder.is_dir():
            for path in sorted(folder.glob("*" + SUFFIX)):
                name = unquote(path.name[: -len(SUFFIX)])
                out.append(ScriptInfo(name, name == active, path.stat().st_size))
        return out

    def exists(self, user: str, name: str) -> bool:
        return self._path(user, name).is_file()

    def get(self, user: str, name: str) -> str:
        try:
            return self._path(user, name).read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise NotFound(f"no script named {name!r}") from None

    def put(self, user: str, name: str, text: str) -> None:
        atomic_write(self._path(user, name), text.encode("utf-8"))

    def delete(self, user: str, name: str) -> None:
        """RFC 5804 §2.10: the active script cannot be deleted."""
        if self.active_name(user) == name:
            raise StoreError(f"script {name!r} is active; deactivate it first")
        path = self._path(user, name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"no script named {name!r}") from None
        fsync_dir(path.parent)

    def rename(self, user: str, old: str, new: str) -> None:
        src, dst = self._path(user, old), self._path(user, new)
        if not src.is_file():
            raise NotFound(f"no script named {old!r}")
        if dst.exists():
            raise AlreadyExists(f"a script named {new!r} exists")
        was_active = self.active_name(user) == old
        os.rename(src, dst)
        fsync_dir(dst.parent)
        if was_active:
            self.activate(user, new)

    def activate(self, user: str, name: str | None) -> None:
        """Make ``name`` the active script; None (or "") deactivates (RFC 5804 §2.8)."""
        marker = self.user_dir(user) / "active"
        if not name:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()
                fsync_dir(marker.parent)
            return
        if not self.exists(user, name):
            raise NotFound(f"no script named {name!r}")
        atomic_write(marker, name.encode("utf-8"))

    def active_name(self, user: str) -> str | None:
        name = self._text(str(self.user_dir(user) / "active"))
        return name if name and self.exists(user, name) else None

    def active_script(self, user: str) -> str | None:
        """The text of the user's active script, or None when filtering is off."""
        return self.user_filters(user)[0]

    def user_filters(self, user: str) -> tuple[str | None, dict[str, object]]:
        """What delivery needs of ``user``: (active script text or None, settings).

        A user without a Sieve directory (most users) costs one stat."""
        folder = self.user_dir(user)
        if not os.path.isdir(folder):
            return None, {}
        return self._active_text(user, folder), self.settings(user)

    def _active_text(self, user: str, folder: Path) -> str | None:
        name = self._text(str(folder / "active"))
        if not name:
            return None
        try:
            return self._text(str(self._path(user, name)))
        except InvalidScriptName:
            return None

    def usage(self, user: str) -> tuple[int, int]:
        """(number of scripts, bytes) — for ManageSieve's HAVESPACE."""
        scripts = self.list(user)
        return len(scripts), sum(s.size for s in scripts)

    # ---------------------------------------------------------------- global script

    def global_script(self) -> str | None:
        return self._text(str(self.root / GLOBAL))

    def set_global(self, text: str) -> None:
        atomic_write(self.root / GLOBAL, text.encode("utf-8"))

    def remove_global(self) -> bool:
        try:
            (self.root / GLOBAL).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.root)
        return True

    def global_include(self, name: str) -> str | None:
        """The ``:global`` script ``name`` (RFC 6609 §3.2): ``sieve/global/<name>.sieve``,
        None when there is none (the caller checks the name: no path leaves the folder)."""
        try:
            return (self.root / "global" / f"{name}.sieve").read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def set_global_include(self, name: str, text: str) -> None:
        """Install the ``:global`` script ``name``."""
        atomic_write(self.root / "global" / _file_name(name), text.encode("utf-8"))

    # ---------------------------------------------------------------- settings

    def settings(self, user: str) -> dict[str, object]:
        """The user's settings (a fresh dict each call: callers may change it)."""
        try:
            text = self._text(str(self.user_dir(user) / "settings.json"))
            data = json.loads(text) if text else {}
        except (ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def set_setting(self, user: str, key: str, value: object) -> None:
        with _locked(self.user_dir(user) / "settings.lock"):
            data = self.settings(user)
            data[key] = value
            atomic_write(self.user_dir(user) / "settings.json", json.dumps(data).encode())

    def vacation_memory(self, user: str) -> VacationLog:
        return VacationLog(self.user_dir(user) / "vacation.json")

    def duplicate_log(self, user: str) -> DuplicateLog:
        """RFC 7352 duplicate tracking of ``user`` (:mod:`mailtool.store.sieve_state`)."""
        from mailtool.store.sieve_state import DuplicateLog

        return DuplicateLog(self.user_dir(user) / "duplicate.json")

    def notify_log(self, user: str) -> NotifyLog:
        """RFC 5435 notifications sent by ``user``'s scripts (the rate limit)."""
        from mailtool.store.sieve_state import NotifyLog

        return NotifyLog(self.user_dir(user) / "notify.json")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (the server and a CLI command)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class VacationLog:
    """RFC 5230 §4.2 response tracking: one reply per sender and handle per ``days``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def should_reply(self, sender: str, handle: str, days: int, now: float) -> bool:
        """True (and the reply is recorded) unless ``sender`` had this reply within ``days``."""
        key = f"{sender.lower()} {handle}"
        with _locked(self.path.with_suffix(".lock")):
            data = {k: t for k, t in self._load().items() if now - t < VACATION_KEEP_SECONDS}
            last = data.get(key)
            if last is not None and now - last < days * 86400:
                return False
            data[key] = now
            if len(data) > VACATION_MAX_ENTRIES:
                keep = sorted(data.items(), key=lambda kv: kv[1])[-VACATION_MAX_ENTRIES:]
                data = dict(keep)
            atomic_write(self.path, json.dumps(data).encode())
            return True
