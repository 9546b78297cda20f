"""Import from files: mbox files (or a directory of them, as export writes) and Maildirs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mailtool.store.interfaces import INBOX, InvalidFolderName
from mailtool.transfer import maildir as md
from mailtool.transfer.core import Importer, TooBig
from mailtool.transfer.mbox import read_mbox
from mailtool.transfer.progress import Progress

#: mbox file names that mean the INBOX (mutt's and the system spool's)
INBOX_NAMES = frozenset({"inbox", "mbox"})


def mbox_folder(path: Path, top: Path | None = None) -> str:
    """The folder an mbox file goes into: its name without ``.mbox`` (``inbox`` and
    ``mbox`` -> INBOX); under a directory ``top``, its path relative to it
    (``Work/Clients.mbox`` -> ``Work/Clients``, the tree :mod:`.export` writes)."""
    rel = path.relative_to(top) if top is not None else Path(path.name)
    parts = list(rel.parts)
    parts[-1] = parts[-1].removesuffix(".mbox")
    if len(parts) == 1 and parts[0].lower() in INBOX_NAMES:
        return INBOX
    return "/".join(parts)


def mbox_files(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(file, folder) for each file given; a directory gives every ``*.mbox`` in it."""
    out = []
    for path in paths:
        if path.is_dir():
            out += [(p, mbox_folder(p, path)) for p in sorted(path.rglob("*.mbox")) if p.is_file()]
        else:
            out.append((path, mbox_folder(path)))
    return out


def import_mbox(importer: Importer, paths: Sequence[Path], progress: Progress, *,
                folder: str | None = None, mboxrd: bool = True) -> None:  # fmt: skip
    """Every message of every mbox, into ``folder`` or the folder named by the file."""
    for path, name in mbox_files(paths):
        name = folder or name
        try:
            target = importer.target(name)
        except InvalidFolderName as exc:
            importer.failed_folder(name, exc)
            continue
        progress.start(f"{path.name} → {target.folder.name}", path.stat().st_size, "bytes")
        done = 0
        with open(path, "rb") as fh:
            for msg in read_mbox(fh, limit=importer.max_size, mboxrd=mboxrd):
                if msg.too_big:
                    target.fail(f"message at byte {msg.offset}", TooBig(f"{msg.size}+ bytes"))
                else:
                    target.add(msg.data, msg.flags, msg.date)
                progress.advance(fh.tell() - done)
                done = fh.tell()
        progress.finish()


def import_maildir(importer: Importer, root: Path, progress: Progress) -> None:
    """Every folder of the Maildir at ``root``; Dovecot's UIDs kept where it can."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    for source in md.find_folders(root):
        uidvalidity, msgs = md.messages(source)
        try:
            target = importer.target(source.name, uidvalidity=uidvalidity)
        except InvalidFolderName as exc:
            importer.failed_folder(source.name, exc)
            continue
        progress.start(f"{source.name}", len(msgs))
        for msg in msgs:
            progress.advance()
            if msg.size > importer.max_size:  # stat says so: never read it
                target.fail(msg.base, TooBig(f"{msg.size} bytes"))
                continue
            try:
                with open(msg.path, "rb") as fh:
                    data = fh.read(importer.max_size + 1)
            except FileNotFoundError:  # moved by its owner meanwhile (flag change)
                found = _moved(source.path, msg.base)
                if found is None:
                    continue
                with open(found, "rb") as fh:
                    data = fh.read(importer.max_size + 1)
            target.add(data, msg.flags, msg.date, uid=msg.uid)


def _moved(folder: Path, base: str) -> Path | None:
    for sub in ("cur", "new"):
        for entry in os.scandir(folder / sub):
            if entry.name == base or entry.name.startswith(base + ":"):
                return Path(entry.path)
    return None


__all__ = ["import_maildir", "import_mbox", "mbox_files", "mbox_folder"]
