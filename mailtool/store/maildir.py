"""Maildir / Maildir++ on disk: the source of truth for messages.

One user's tree (what mutt and Dovecot read)::

    <root>/cur/ new/ tmp/           INBOX
    <root>/.Sent/cur/ new/ tmp/     the folder "Sent" (plus an empty ``maildirfolder`` file)
    <root>/.Work.Projects/          the folder "Work/Projects"

Folder names: IMAP shows hierarchy with ``/``; on disk Maildir++ uses ``.``
(Dovecot's default layout). A literal ``.`` or ``\\`` inside a name is written
``\\2e`` / ``\\5c`` (Dovecot's listescape scheme), so ``"v1.2/notes"`` is
``.v1\\2e2.notes`` and maps back unambiguously. Names are stored as UTF-8 on
disk (Dovecot: ``mail_location = maildir:~/Maildir:UTF-8``); mutt shows them
as they are. ``INBOX`` is case-insensitive and is the root itself.

File names follow https://cr.yp.to/proto/maildir.html plus Dovecot's
extensions: ``<sec>.M<usec>P<pid>Q<n>R<random>.<host>,S=<size>`` and, once
the message has flags, ``:2,<letters>`` with letters D F P R S T in ASCII
order. Keywords are not put in file names (they live in the index).

Every write is tmp/ -> fsync -> rename -> fsync directory (DESIGN principle 1).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.store import ids
from mailtool.store.groupsync import fsync_dir_now, sync_dir

INBOX = "INBOX"
#: IMAP hierarchy separator
SEP = "/"
#: folders every new user gets, with their RFC 6154 special-use attribute
DEFAULT_FOLDERS: dict[str, str | None] = {
    INBOX: None,
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Junk": "\\Junk",
    "Trash": "\\Trash",
    "Archive": "\\Archive",
}
#: RFC 6154 attribute of a folder name, for LIST
SPECIAL_USE: dict[str, str] = {k: v for k, v in DEFAULT_FOLDERS.items() if v}

#: IMAP flag -> Maildir info letter (maildir spec "info"; P = passed = $Forwarded)
FLAG_LETTERS: dict[str, str] = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "$Forwarded": "P",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
LETTER_FLAGS: dict[str, str] = {v: k for k, v in FLAG_LETTERS.items()}
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_CANONICAL = {f.lower(): f for f in (*SYSTEM_FLAGS, "$Forwarded")}

MAX_NAME_BYTES = 255
_SUBDIRS = ("cur", "new", "tmp")
_COPY_CHUNK = 1 << 20


class InvalidFolderName(StoreError):
    """A folder name that is empty, malformed, or would reach outside the user's Maildir."""


# --------------------------------------------------------------------------- names


def normalize_folder(name: str) -> str:
    """Check an IMAP folder name and return its canonical spelling (``inbox/x`` -> ``INBOX/x``).

    Refused: empty names or components (``a//b``, ``/a``, ``a/``), ``.`` and
    ``..`` components, NUL and other control characters, over-long names.
    """
    if not isinstance(name, str) or not name:
        raise InvalidFolderName("folder name is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InvalidFolderName("folder name contains a control character")
    parts = name.split(SEP)
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidFolderName(f"folder name {name!r} has an empty, '.' or '..' component")
    if parts[0].upper() == INBOX:
        parts[0] = INBOX
    canonical = SEP.join(parts)
    if canonical != INBOX and len(to_disk(canonical).encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidFolderName("folder name is too long")
    return canonical


def _escape(part: str) -> str:
    return part.replace("\\", "\\5c").replace(".", "\\2e")


def _unescape(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "\\" and _is_hex(part[i + 1 : i + 3]):
            out.append(chr(int(part[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def to_disk(name: str) -> str:
    """IMAP name (already normalised) -> directory name under the root ('' for INBOX)."""
    if name == INBOX:
        return ""
    return "." + ".".join(_escape(p) for p in name.split(SEP))


def from_disk(dirname: str) -> str:
    """Directory name (``.Work.Projects``) -> IMAP name (``Work/Projects``)."""
    if not dirname.startswith(".") or dirname in (".", ".."):
        raise InvalidFolderName(f"{dirname!r} is not a Maildir++ folder directory")
    return SEP.join(_unescape(p) for p in dirname[1:].split("."))


# --------------------------------------------------------------------------- flags


def canonical_flag(flag: str) -> str:
    """System flags in their RFC 9051 spelling (``\\seen`` -> ``\\Seen``); keywords as given."""
    return _CANONICAL.get(flag.lower(), flag)


def info_letters(flags: Iterable[str]) -> str:
    """The Maildir info letters for ``flags``, sorted (``"FS"``)."""
    return "".join(sorted({FLAG_LETTERS[f] for f in flags if f in FLAG_LETTERS}))


def split_filename(filename: str) -> tuple[str, str | None]:
    """``"base:2,FS"`` -> ``("base", "FS")``; no info -> ``(filename, None)``."""
    base, colon, info = filename.partition(":")
    if colon and info.startswith("2,"):
        return base, info[2:]
    return (base, None) if not colon else (base, "")


def flags_of_letters(letters: str | None) -> set[str]:
    return {LETTER_FLAGS[c] for c in letters or "" if c in LETTER_FLAGS}


def size_in_name(base: str, key: str = "S") -> int | None:
    """The ``,S=<size>`` part of a base name (Dovecot's extension; ``key="W"`` for
    ``,W=<size>``, the size in CRLF form), None without it."""
    prefix = f"{key}="
    if f",{prefix}" not in base:  # the usual case, for each of 100,000 dropped files
        return None
    for field in base.split(",")[1:]:
        value = field[len(prefix):]
        if field.startswith(prefix) and value.isdigit():
            return int(value)
    return None


_counter = itertools.count(1)
_HOST_TTL = 60.0
_host: tuple[float, str] = (0.0, "")


def _hostname() -> str:
    """The host part of file names; looked up once a minute, not once per message."""
    global _host
    now = time.monotonic()
    if now - _host[0] > _HOST_TTL or not _host[1]:
        # maildir spec: '/' -> \057 and ':' -> \072 so the name stays one path component
        name = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        _host = (now, name or "localhost")
    return _host[1]


def unique_name() -> str:
    """``<sec>.M<usec>P<pid>Q<n>R<random>.<host>``: unique across processes and machines."""
    now = time.time()
    sec, usec = int(now), int((now % 1) * 1_000_000)
    return f"{sec}.M{usec}P{ids.pid()}Q{next(_counter)}R{ids.token_hex(4)}.{_hostname()}"


# --------------------------------------------------------------------------- durability


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fsync_dir_now(path)


def write_file(path: Path, data: bytes | BinaryIO) -> int:
    """Write ``data`` (bytes or a binary file, streamed) to ``path`` and fsync; returns the size."""
    return write_durably(path, data)[0]


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_durably(
    path: str | os.PathLike[str], data: bytes | BinaryIO, prefix: bytes = b""
) -> tuple[int, float]:
    """Create ``path`` (it must not exist), write ``prefix`` + ``data`` (bytes or a binary
    file, streamed), fsync. Returns (bytes of ``data`` written, the file's mtime).

    Plain ``os`` calls, no Python file object: five system calls for a small message.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o666)
    try:
        if isinstance(data, bytes | bytearray | memoryview):
            _write_all(fd, prefix + data if prefix else data)
            size = len(data)
        else:
            _write_all(fd, prefix)
            size = 0
            while chunk := data.read(_COPY_CHUNK):
                _write_all(fd, chunk)
                size += len(chunk)
        os.fsync(fd)
        mtime = os.fstat(fd).st_mtime
    finally:
        os.close(fd)
    return size, mtime


# --------------------------------------------------------------------------- the tree


class Maildir:
    """One user's Maildir++ tree. Knows files and directories, not UIDs."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Maildir({str(self.root)!r})"

    # ---- folders

    def path(self, folder: str) -> Path:
        """The directory of ``folder``; always inside the root."""
        return self.root / to_disk(normalize_folder(folder))

    def exists(self, folder: str) -> bool:
        return (self.path(folder) / "cur").is_dir()

    def create(self, folders: Iterable[str] = DEFAULT_FOLDERS) -> None:
        """Create the root (INBOX) and ``folders`` that are missing; idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        for name in folders:
            if not self.exists(name):
                self.create_folder(name)

    def create_folder(self, folder: str) -> str:
        """Create ``folder`` (cur/ new/ tmp/ and Maildir++'s ``maildirfolder`` marker)."""
        name = normalize_folder(folder)
        path = self.root / to_disk(name)
        if name != INBOX and (path / "cur").is_dir():
            raise AlreadyExists(f"folder {name!r} exists already")
        path.mkdir(parents=True, exist_ok=True)
        for sub in _SUBDIRS:
            (path / sub).mkdir(exist_ok=True)
        if name != INBOX:
            (path / "maildirfolder").touch()
        fsync_dir(path)
        fsync_dir(path.parent)
        return name

    def folders(self) -> list[str]:
        """Every folder on disk, INBOX first, then by name."""
        found = []
        with os.scandir(self.root) as it:
            for entry in it:
                is_folder = entry.name.startswith(".") and entry.name not in (".", "..")
                if not (is_folder and os.path.isdir(os.path.join(entry.path, "cur"))):
                    continue
                try:
                    found.append(normalize_folder(from_disk(entry.name)))
                except InvalidFolderName:
                    continue  # a directory no IMAP name maps to: leave it alone
        return [INBOX, *sorted(set(found) - {INBOX})]

    def delete_folder(self, folder: str) -> None:
        """Delete ``folder`` and its messages (not its children, which are separate)."""
        name = normalize_folder(folder)
        if name == INBOX:
            raise InvalidFolderName("INBOX cannot be deleted")
        path = self.root / to_disk(name)
        if not (path / "cur").is_dir():
            raise NotFound(f"folder {name!r} does not exist")
        # rename first (atomic: the folder is gone for readers), then remove at leisure
        trash = self.root / "tmp" / f".deleted-{unique_name()}"
        os.rename(path, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def rename_folder(self, old: str, new: str) -> list[tuple[str, str]]:
        """Rename ``old`` and its children; returns the (old, new) name pairs renamed."""
        src, dst = normalize_folder(old), normalize_folder(new)
        if INBOX in (src, dst):
            raise InvalidFolderName("INBOX cannot be renamed here (the mail store moves its mail)")
        if dst == src or dst.startswith(src + SEP):
            raise InvalidFolderName(f"cannot rename {src!r} into itself")
        if not self.exists(src):
            raise NotFound(f"folder {src!r} does not exist")
        if self.exists(dst):
            raise AlreadyExists(f"folder {dst!r} exists already")
        pairs = [
            (n, dst + n[len(src) :]) for n in self.folders() if n == src or n.startswith(src + SEP)
        ]
        for a, b in pairs:
            os.rename(self.root / to_disk(a), self.root / to_disk(normalize_folder(b)))
        fsync_dir(self.root)
        return pairs

    # ---- messages

    def deliver(
        self,
        folder: str,
        data: bytes | BinaryIO,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> tuple[str, str, int]:
        """Write one message durably; returns ``(base name, path relative to folder, size)``.

        The message lands in ``new/`` without flags, in ``cur/`` with ``:2,<letters>``
        when it has any. The file's mtime is the internal date (as Dovecot does).
        """
        return self.deliver_dated(folder, data, flags=flags, internal_date=internal_date)[:3]

    def deliver_dated(
        self,
        folder: str,
        data: bytes | BinaryIO,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> tuple[str, str, int, float]:
        """:meth:`deliver`, also returning the internal date: ``internal_date``, or
        when None the file's own mtime (no utime call, the clocks agree by construction).

        File-system calls for a small message: open, write, fsync, fstat, close,
        rename, and the directory fsync (shared with concurrent deliveries into the
        same directory). A missing folder shows as the failed open of its tmp/.
        """
        # plain strings, not Path objects: this runs for every message delivered
        folder_dir = os.fspath(self.path(folder))
        name = unique_name()
        tmp = f"{folder_dir}/tmp/{name}"
        try:
            try:
                size, mtime = write_durably(tmp, data)
            except FileNotFoundError:
                if not os.path.isdir(f"{folder_dir}/cur"):
                    raise NotFound(f"folder {normalize_folder(folder)!r} does not exist") from None
                raise
            base, rel, mtime = self._move_in(folder_dir, tmp, size, mtime, flags, internal_date)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        sync_dir(f"{folder_dir}/{rel.split('/')[0]}")
        return base, rel, size, mtime

    def tmp_path(self) -> str:
        """A new file name in the root's ``tmp/``, for a message written before its
        folder is known (a big IMAP APPEND spooled as it arrives): every folder of
        the tree is on the same file system, so :meth:`deliver_file` renames it."""
        return f"{os.fspath(self.root)}/tmp/{unique_name()}"

    def deliver_file(
        self,
        folder: str,
        path: str,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> tuple[str, str, int, float]:
        """:meth:`deliver_dated` of a message already written to ``path`` (from
        :meth:`tmp_path`): fsynced, then renamed into ``folder``, never copied.
        On failure the file stays where it was (the caller removes it)."""
        folder_dir = os.fspath(self.path(folder))
        if not os.path.isdir(f"{folder_dir}/cur"):
            raise NotFound(f"folder {normalize_folder(folder)!r} does not exist")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            os.fsync(fd)
            stat = os.fstat(fd)
        finally:
            os.close(fd)
        base, rel, mtime = self._move_in(
            folder_dir, path, stat.st_size, stat.st_mtime, flags, internal_date
        )
        sync_dir(f"{folder_dir}/{rel.split('/')[0]}")
        return base, rel, stat.st_size, mtime

    def _move_in(
        self,
        folder_dir: str,
        tmp: str,
        size: int,
        mtime: float,
        flags: Iterable[str],
        internal_date: float | None,
    ) -> tuple[str, str, float]:
        """Date, name and rename a durable file into ``folder_dir``'s new/ or cur/."""
        if internal_date is not None:
            os.utime(tmp, (internal_date, internal_date))
            mtime = internal_date
        base = f"{os.path.basename(tmp)},S={size}"
        rel = self.relpath_for(base, flags, in_new=not info_letters(flags))
        os.rename(tmp, f"{folder_dir}/{rel}")
        return base, rel, mtime

    @staticmethod
    def relpath_for(base: str, flags: Iterable[str], *, in_new: bool = False) -> str:
        """``new/<base>`` or ``cur/<base>:2,<letters>``."""
        return f"new/{base}" if in_new else f"cur/{base}:2,{info_letters(flags)}"

    def scan(self, folder: str) -> Iterator[tuple[str, str]]:
        """``(base name, relative path)`` for every message file in new/ and cur/ (no opening)."""
        folder_dir = self.path(folder)
        for sub in ("new", "cur"):
            with os.scandir(folder_dir / sub) as it:
                for entry in it:
                    if not entry.name.startswith("."):
                        yield split_filename(entry.name)[0], f"{sub}/{entry.name}"

    def find(self, folder: str, base: str) -> str | None:
        """The current relative path of ``base`` (another program may have renamed it)."""
        return next((rel for b, rel in self.scan(folder) if b == base), None)

    def set_flags(
        self, folder: str, rel: str, flags: Iterable[str], *, durable: bool = True
    ) -> str:
        """Rename the file at ``rel`` so its info carries ``flags``; returns the new path.

        ``durable=False`` leaves the directory fsyncs to the caller, who renames many
        files and calls :meth:`sync_folder_dirs` once (one fsync per directory, not per file).
        """
        folder_dir = self.path(folder)
        base = split_filename(rel.split("/", 1)[1])[0]
        new_rel = self.relpath_for(base, flags)
        if new_rel != rel:
            os.rename(folder_dir / rel, folder_dir / new_rel)
            if durable:
                self.sync_folder_dirs(folder)
        return new_rel

    def set_flags_many(
        self, folder: str, files: Iterable[tuple[str, Iterable[str]]]
    ) -> list[str | None]:
        """:meth:`set_flags` for many ``(rel, flags)`` of one folder, without the directory
        fsyncs (call :meth:`sync_folder_dirs` once after): the folder's path made once,
        str paths, one rename each; None for a file that is not at ``rel`` (another
        program renamed it). The first SELECT after 20,000 files arrived in new/ moves
        them all: per file, set_flags' Path objects cost more than the rename."""
        prefix = os.fspath(self.path(folder)) + "/"
        out: list[str | None] = []
        for rel, flags in files:
            new_rel = self.relpath_for(split_filename(rel.split("/", 1)[1])[0], flags)
            if new_rel != rel:
                try:
                    os.rename(prefix + rel, prefix + new_rel)
                except FileNotFoundError:
                    out.append(None)
                    continue
            out.append(new_rel)
        return out

    def sync_folder_dirs(self, folder: str) -> None:
        """fsync a folder's cur/ and new/ after renames between or inside them."""
        folder_dir = self.path(folder)
        fsync_dir(folder_dir / "cur")
        fsync_dir(folder_dir / "new")

    def remove(self, folder: str, rel: str) -> None:
        """Unlink one message file (gone already is fine: another program expunged it)."""
        (self.path(folder) / rel).unlink(missing_ok=True)

    def copy_in(
        self, src_folder: str, rel: str, dst_folder: str, flags: Iterable[str], *, move: bool
    ) -> tuple[str, str]:
        """Copy (hard link when possible) or move a message file into ``dst_folder``.

        Returns ``(new base name, new relative path)``. The new file gets a fresh
        unique name so both copies are distinct messages to every reader.
        """
        src = self.path(src_folder) / rel
        dst_dir = self.path(dst_folder)
        size = size_in_name(split_filename(rel.split("/", 1)[1])[0])
        if size is None:
            size = src.stat().st_size
        base = f"{unique_name()},S={size}"
        new_rel = self.relpath_for(base, flags)
        target = dst_dir / new_rel
        if move:
            os.rename(src, target)
            fsync_dir(src.parent)
        else:
            tmp = dst_dir / "tmp" / base
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copy2(src, tmp)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            os.rename(tmp, target)
        fsync_dir(target.parent)
        return base, new_rel
