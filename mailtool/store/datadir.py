"""The data dir's ownership and modes (DESIGN principle 7: files 0600, directories 0700).

New files get those modes from the process umask (077, set by the CLI entry point and
``serve``); :func:`secure_tree` fixes what is already there: files written by older
versions (0644 / 0755), or as root before the first ``serve`` (``mailtool domain add``
on a fresh machine), are handed to the service user.

The tree is walked as root while the service user (who may be compromised) can write
in it, so nothing here follows a symbolic link: directories are walked by file
descriptor (:func:`os.fwalk`), owners are changed with ``lchown`` semantics, modes
through a descriptor opened with ``O_NOFOLLOW``; symbolic links are left as they are,
sockets and FIFOs only get the owner.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mailtool.store.paths import DataDir

#: the umask every process that writes the data dir runs with
PRIVATE_UMASK = 0o077
#: owner permissions only
OWNER_ONLY = 0o700


@dataclass
class TreeFix:
    """What :func:`secure_tree` changed (for the log)."""

    chowned: int = 0
    chmodded: int = 0


def private_mode(mode: int) -> int:
    """``mode`` without group and other bits; a directory always keeps rwx for its owner."""
    if stat.S_ISDIR(mode):
        return OWNER_ONLY
    return stat.S_IMODE(mode) & OWNER_ONLY


def secure_tree(
    root: Path, uid: int | None = None, gid: int | None = None, *, depth: int | None = None
) -> TreeFix:
    """Give every file and directory under ``root`` (``root`` included) mode 0600/0700
    (owner bits kept) and, when ``uid`` is given, that owner and ``gid``. ``depth``: only
    that many levels of directories below ``root`` (1: its subdirectories and their files)."""
    fix = TreeFix()
    root = Path(root).resolve()
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(root, follow_symlinks=False):
        # a directory is fixed through the descriptor fwalk opened it by (follow_symlinks=
        # False: a link to a directory is listed in dirnames but never entered)
        _fix_fd(dir_fd, uid, gid, fix)
        for name in filenames:
            _fix_entry(name, dir_fd, uid, gid, fix)
        if depth is not None and len(Path(dirpath).relative_to(root).parts) >= depth:
            dirnames.clear()  # top-down: fwalk enters only what is left in the list
    return fix


def secure_data_dir(root: Path, uid: int | None = None, gid: int | None = None) -> TreeFix:
    """:func:`secure_tree` on the data dir, once per owner: a tree of a million Maildir
    files takes a minute to walk, and after the first pass every file is created private
    by its owner (umask 077; root's CLI acts as the owner). Later starts check the top
    two levels only (accounts.db, mail/, queue/, tls/, run/...). Removing
    ``run/private`` has the next start check the whole tree again."""
    owner = f"{os.getuid() if uid is None else uid}:{os.getgid() if gid is None else gid}"
    checked = _read_stamp(Path(root)) == owner
    return secure_tree(root, uid, gid, depth=1 if checked else None)


def mark_private(root: Path) -> None:
    """Write ``run/private``: the whole tree is private to the current user (called by
    that user, after :func:`secure_data_dir` and the privilege drop)."""
    path = DataDir(root).private_stamp
    tmp = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(tmp, flags, 0o600), "w") as fh:
        fh.write(f"{os.getuid()}:{os.getgid()}\n")
    os.replace(tmp, path)


def _read_stamp(root: Path) -> str | None:
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(DataDir(root).private_stamp, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read(64).decode("ascii", "replace").strip()


def _fix_entry(name: str, dir_fd: int, uid: int | None, gid: int | None, fix: TreeFix) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return  # removed while we walk (a server or CLI is running)
    if stat.S_ISSOCK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        # not opened (a FIFO could block, a socket cannot be): the owner only, by name
        # without following (fchownat AT_SYMLINK_NOFOLLOW, whatever it has become since)
        if uid is not None and gid is not None and (st.st_uid, st.st_gid) != (uid, gid):
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
            fix.chowned += 1
        return
    if not stat.S_ISREG(st.st_mode):
        return  # a symbolic link (or a device): never followed, never changed
    if not _needs_fix(st, uid, gid):
        return
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except (FileNotFoundError, OSError):
        return  # gone, or swapped for a link since the stat (O_NOFOLLOW: ELOOP)
    try:
        _fix_fd(fd, uid, gid, fix)
    finally:
        os.close(fd)


def _needs_fix(st: os.stat_result, uid: int | None, gid: int | None) -> bool:
    if uid is not None and (st.st_uid, st.st_gid) != (uid, gid):
        return True
    return stat.S_IMODE(st.st_mode) != private_mode(st.st_mode)


def _fix_fd(fd: int, uid: int | None, gid: int | None, fix: TreeFix) -> None:
    st = os.fstat(fd)
    if uid is not None and gid is not None and (st.st_uid, st.st_gid) != (uid, gid):
        os.fchown(fd, uid, gid)
        fix.chowned += 1
    wanted = private_mode(st.st_mode)
    if stat.S_IMODE(st.st_mode) != wanted:
        # not ours (serve not started as root): leave it, the store reports what it cannot open
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, wanted)
            fix.chmodded += 1
