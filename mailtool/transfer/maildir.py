"""Another program's Maildir, read for import (and Dovecot's index files written on export).

Layouts: **Maildir++** (INBOX is the root's ``cur``/``new``; folder ``a/b`` is the
directory ``.a.b``, the form Courier and Dovecot use by default) and Dovecot's
**LAYOUT=fs** (folder ``a/b`` is the directory ``a/b``). Folder names on disk are
modified UTF-7 (RFC 3501 §5.1.3, Dovecot's default) and are decoded; a name that
is not valid mUTF-7 is taken as UTF-8.

Per folder, Dovecot's ``dovecot-uidlist`` gives UIDVALIDITY and each file's UID
(versions 1 and 3 of the format), and ``dovecot-keywords`` the keyword behind
each lowercase letter of a file name's info (``a`` is keyword 0). Flags are the
info's uppercase letters (the Maildir spec's ``DFPRST``); the internal date is
the file's mtime, as Dovecot keeps it. A file in ``new/`` has no info.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7
from mailtool.store.maildir import INBOX, LETTER_FLAGS, split_filename

UIDLIST = "dovecot-uidlist"
KEYWORDS = "dovecot-keywords"
#: Dovecot allows 26 keywords per Maildir (letters a-z)
MAX_KEYWORDS = 26
_SUBDIRS = ("cur", "new", "tmp")


@dataclass(frozen=True)
class SourceFolder:
    name: str  #: IMAP name, '/' separated, decoded
    path: Path


@dataclass(frozen=True)
class SourceMessage:
    path: Path
    base: str
    flags: frozenset[str]
    date: float
    size: int
    uid: int | None


def _decode(part: str) -> str:
    try:
        return decode_mutf7(part)
    except (ImapError, ValueError):
        return part


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir()


def find_folders(root: Path) -> list[SourceFolder]:
    """Every folder under ``root`` (see the module docstring), INBOX first."""
    found: list[SourceFolder] = []
    if _is_maildir(root):
        found.append(SourceFolder(INBOX, root))
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if not entry.is_dir() or entry.name in _SUBDIRS:
            continue
        if entry.name.startswith(".") and entry.name not in (".", ".."):
            if _is_maildir(entry):  # Maildir++: .a.b
                parts = [_decode(p) for p in entry.name[1:].split(".")]
                found.append(SourceFolder("/".join(parts), entry))
        else:
            found.extend(_fs_layout(entry, [_decode(entry.name)]))
    seen: set[str] = set()
    out = []
    for f in found:  # INBOX from the root wins over an INBOX directory
        key = INBOX if f.name.upper() == INBOX else f.name
        if key not in seen:
            seen.add(key)
            out.append(SourceFolder(key, f.path))
    return out


def _fs_layout(path: Path, parts: list[str], depth: int = 0) -> Iterator[SourceFolder]:
    if depth > 32:  # a bound on a directory loop made of symlinks
        return
    if _is_maildir(path):
        yield SourceFolder("/".join(parts), path)
    for entry in sorted(path.iterdir()):
        if entry.is_dir() and entry.name not in _SUBDIRS and not entry.name.startswith("."):
            yield from _fs_layout(entry, [*parts, _decode(entry.name)], depth + 1)


def read_uidlist(path: Path) -> tuple[int | None, dict[str, int]]:
    """(UIDVALIDITY, base name -> UID) from a ``dovecot-uidlist``; (None, {}) when absent."""
    try:
        lines = path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return None, {}
    if not lines:
        return None, {}
    header = lines[0].split()
    uidvalidity = None
    if header and header[0] == "1" and len(header) >= 2:
        uidvalidity = int(header[1]) if header[1].isdigit() else None
    else:  # version 3: "3 V1234 N5 Gguid"
        for item in header[1:]:
            if item[:1] == "V" and item[1:].isdigit():
                uidvalidity = int(item[1:])
    uids: dict[str, int] = {}
    for line in lines[1:]:
        number, _, rest = line.partition(" ")
        if not number.isdigit():
            continue
        # v3: "uid [ext...] :filename"; v1: "uid filename"
        name = rest.rpartition(" :")[2] if " :" in f" {rest}" else rest
        name = name.removeprefix(":")
        uids[split_filename(name.strip())[0]] = int(number)
    return uidvalidity, uids


def read_keywords(path: Path) -> dict[str, str]:
    """Letter -> keyword from a ``dovecot-keywords`` file."""
    out: dict[str, str] = {}
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return out
    for line in text.splitlines():
        number, _, word = line.partition(" ")
        if number.isdigit() and int(number) < MAX_KEYWORDS and word:
            out[chr(ord("a") + int(number))] = word
    return out


def messages(folder: SourceFolder) -> tuple[int | None, list[SourceMessage]]:
    """The folder's UIDVALIDITY (if Dovecot's) and its messages, UID order first."""
    uidvalidity, uids = read_uidlist(folder.path / UIDLIST)
    keywords = read_keywords(folder.path / KEYWORDS)
    out = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(folder.path / sub))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            base, info = split_filename(entry.name)
            flags = set()
            for letter in info or "":
                if letter in LETTER_FLAGS:
                    flags.add(LETTER_FLAGS[letter])
                elif letter in keywords:
                    flags.add(keywords[letter])
            st = entry.stat()
            out.append(SourceMessage(Path(entry.path), base, frozenset(flags), st.st_mtime,
                                     st.st_size, uids.get(base)))  # fmt: skip
    out.sort(key=lambda m: (m.uid is None, m.uid or 0, m.date, m.base))
    return (uidvalidity if uids else None), out


def disk_name(folder: str) -> str:
    """Maildir++ directory of ``folder`` (mUTF-7 parts joined with '.'; INBOX: '')."""
    if folder == INBOX:
        return ""
    return "." + ".".join(encode_mutf7(p) for p in folder.split("/"))


def write_index_files(path: Path, uidvalidity: int, uidnext: int,
                      entries: Iterable[tuple[int, str]], keywords: list[str]) -> None:  # fmt: skip
    """``dovecot-uidlist`` (version 3) and ``dovecot-keywords``, so Dovecot (and our own
    import) keeps the UIDs of an exported folder."""
    lines = [f"3 V{uidvalidity} N{uidnext}\n"]
    lines += [f"{uid} :{base}\n" for uid, base in sorted(entries)]
    (path / UIDLIST).write_text("".join(lines), "utf-8")
    if keywords:
        text = "".join(f"{i} {k}\n" for i, k in enumerate(keywords[:MAX_KEYWORDS]))
        (path / KEYWORDS).write_text(text, "utf-8")


__all__ = [
    "SourceFolder",
    "SourceMessage",
    "disk_name",
    "find_folders",
    "messages",
    "read_keywords",
    "read_uidlist",
    "write_index_files",
]
