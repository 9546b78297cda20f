"""``mailtool export``: a user's folders as mbox files or as a Maildir++ tree.

**mbox**: one file per folder, ``DIR/INBOX.mbox``, ``DIR/Work/Clients.mbox`` for
``Work/Clients`` (the tree ``mailtool import USER mbox DIR`` reads back), mboxrd
quoting, the From line dated with the internal date, flags in mutt's ``Status:`` /
``X-Status:`` / ``X-Keywords:`` headers. Each file is written beside its name and
renamed over it when complete: a re-run (or a run after an interrupted one)
writes the folder again whole, never twice into one file.

**maildir**: Maildir++ (INBOX at ``DIR``, ``Work/Clients`` in ``DIR/.Work.Clients``,
names in modified UTF-7) that Dovecot, mutt or our own import read; each file is
named after our own (``base:2,FLAGS``, keywords as Dovecot's letters), its mtime
the internal date, and ``dovecot-uidlist`` / ``dovecot-keywords`` carry the
UIDVALIDITY, UIDs and keywords. A file already there (same base name) is not
written again, so an interrupted export resumes where it stopped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from mailtool.errors import StoreError
from mailtool.store.interfaces import MailFolder as Folder
from mailtool.store.interfaces import UserMailbox as UserMail
from mailtool.store.maildir import info_letters, split_filename
from mailtool.transfer import maildir as md
from mailtool.transfer.mbox import write_message
from mailtool.transfer.progress import Progress

Format = Literal["mbox", "maildir"]


def export(mail: UserMail, fmt: Format, dest: Path, progress: Progress) -> dict[str, Any]:
    """Write every folder of ``mail`` under ``dest``; per-folder counts."""
    dest.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for name in mail.folders():
        folder = mail.folder(name)
        folder.sync()
        if fmt == "mbox":
            counts[name] = _mbox(folder, dest, progress)
        else:
            counts[name] = _maildir(folder, dest, progress)
    totals = {k: sum(c[k] for c in counts.values()) for k in ("exported", "skipped")}
    return {"folders": counts, "totals": totals}


def _mbox(folder: Folder, dest: Path, progress: Progress) -> dict[str, int]:
    path = dest.joinpath(*folder.name.split("/")).with_name(folder.name.split("/")[-1] + ".mbox")
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    msgs = folder.messages()
    progress.start(f"{folder.name} → {path.name}", len(msgs))
    done = 0
    with open(part, "wb") as out:
        for info in msgs:
            progress.advance()
            try:
                data = folder.read_bytes(info.uid)
            except (OSError, StoreError):
                continue  # expunged meanwhile
            write_message(out, data, info.flags, info.internal_date)
            done += 1
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)
    return {"exported": done, "skipped": 0}


def _maildir(folder: Folder, dest: Path, progress: Progress) -> dict[str, int]:
    root = dest / md.disk_name(folder.name) if folder.name != "INBOX" else dest
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    have = {split_filename(n)[0] for n in os.listdir(root / "cur")}
    keywords = list(md.read_keywords(root / md.KEYWORDS).values())
    status = folder.status()
    msgs = folder.messages()
    progress.start(folder.name, len(msgs))
    done = skipped = 0
    for info in msgs:
        progress.advance()
        if info.base in have:
            skipped += 1
            continue
        letters = info_letters(info.flags)
        for flag in sorted(info.flags):
            if flag.startswith("\\") or flag in md.LETTER_FLAGS.values():
                continue
            if flag not in keywords and len(keywords) < md.MAX_KEYWORDS:
                keywords.append(flag)
            if flag in keywords:
                letters += chr(ord("a") + keywords.index(flag))
        tmp = root / "tmp" / info.base
        try:
            with folder.open(info.uid) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fsync(out.fileno())
        except (OSError, StoreError):
            continue
        os.utime(tmp, (info.internal_date, info.internal_date))
        os.replace(tmp, root / "cur" / f"{info.base}:2,{''.join(sorted(letters))}")
        have.add(info.base)
        done += 1
    in_export = [(m.uid, m.base) for m in msgs if m.base in have]
    md.write_index_files(root, status.uidvalidity, status.uidnext, in_export, keywords)
    return {"exported": done, "skipped": skipped}


__all__ = ["Format", "export"]
