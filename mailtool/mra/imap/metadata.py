"""METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA.

Entries live per user in the store (:mod:`mailtool.store.metadata`), the server's
under the mailbox ``""``; RENAME carries a mailbox's entries along and DELETE
removes them (both in the store, so the CLI does the same). Bounds, named in
``[limits]``: one value's size (``NO [METADATA MAXSIZE n]``), the number of a
user's entries and their total size (``NO [METADATA TOOMANY]``).
"""

from __future__ import annotations

import asyncio

from mailtool.mra.imap.session import AUTH, Done, Session, bad, command, no, ok
from mailtool.protocol.imap.extension_commands import GetMetadata, SetMetadata
from mailtool.protocol.imap.mailbox import write_mailbox
from mailtool.protocol.imap.values import Writer
from mailtool.store.interfaces import (
    MetadataLimits,
    MetadataTooLarge,
    MetadataTooMany,
)
from mailtool.store.interfaces import MetadataStore as Metadata

#: RFC 5464 §3.2: every entry is under one of these
ROOTS = ("/private", "/shared")
#: characters an entry name may not hold (RFC 5464 §3.2, §5: no wildcards, no CTLs)
_FORBIDDEN = frozenset("*%") | {chr(i) for i in range(0x20)} | {"\x7f"}


def check_entry(entry: str, *, root_ok: bool = False) -> str:
    """A valid entry name, lower-cased; BAD otherwise (RFC 5464 §3.2, §5).
    ``root_ok``: ``/private`` and ``/shared`` themselves (GETMETADATA with DEPTH)."""
    name = entry.lower()
    valid = (
        not name.endswith("/")
        and "//" not in name
        and not (_FORBIDDEN & set(name))
        and (name.startswith(("/private/", "/shared/")) or (root_ok and name in ROOTS))
    )
    if not valid:
        raise bad(f"Invalid metadata entry name {entry!r}")
    return name


def metadata_limits(s: Session) -> MetadataLimits:
    limits = s.config.limits
    return MetadataLimits(
        max_entry_size=limits.imap_metadata_max_entry_size,
        max_entries=limits.imap_metadata_max_entries,
        max_total=limits.imap_metadata_max_total,
    )


def _store(s: Session, mailbox: str) -> Metadata:
    assert s.mail is not None
    # RFC 5464 §4.2/§4.3: "" is the server; any other name must be a mailbox of the user
    if mailbox and not s.mail.exists(mailbox):
        raise no("Mailbox does not exist", "NONEXISTENT")
    return s.mail.metadata


@command("GETMETADATA", states=AUTH)
async def getmetadata(s: Session, cmd: GetMetadata) -> Done:
    entries = list(dict.fromkeys(check_entry(e, root_ok=True) for e in cmd.entries))
    store = _store(s, cmd.mailbox)
    found = await asyncio.to_thread(
        lambda: [store.get(cmd.mailbox, [e], cmd.depth) for e in entries]
    )
    items: list[tuple[str, bytes | None]] = []
    longest = 0
    seen: set[str] = set()
    for entry, under in zip(entries, found, strict=True):
        if not under and cmd.depth == 0:
            # RFC 5464 §4.4.1: an entry asked for that has no value is given as NIL
            # (with a DEPTH, nothing: Dovecot does the same)
            items.append((entry, None))
        for name, value in under:
            if cmd.maxsize is not None and len(value) > cmd.maxsize:
                # RFC 5464 §4.2.1: left out; the OK says how long the longest was
                longest = max(longest, len(value))
            elif name not in seen:
                seen.add(name)
                items.append((name, value))
    w = Writer(utf8=s.utf8).raw(b"* METADATA ")
    write_mailbox(w, cmd.mailbox)
    w.raw(b" (")
    for i, (name, value) in enumerate(items):
        if i:
            w.raw(b" ")
        w.astring(name).raw(b" ")
        if value is None:
            w.raw(b"NIL")
        else:
            # RFC 5464 §5: value = nstring / literal8; always a literal, as Dovecot
            # sends them: values are arbitrary bytes (literal8 when one holds a NUL)
            w.literal(value, binary=b"\0" in value)
    w.raw(b")\r\n")
    if items:
        await s.write(w.getvalue())
    if longest:
        return ok("GETMETADATA completed", "METADATA", f"LONGENTRIES {longest}")
    return ok("GETMETADATA completed")


@command("SETMETADATA", states=AUTH)
async def setmetadata(s: Session, cmd: SetMetadata) -> Done:
    values = [(check_entry(e), v) for e, v in cmd.values]
    store = _store(s, cmd.mailbox)
    limits = metadata_limits(s)
    try:
        await asyncio.to_thread(store.set, cmd.mailbox, values, limits)
    except MetadataTooLarge as exc:
        raise no("Metadata value too large", "METADATA", f"MAXSIZE {exc.limit}") from None
    except MetadataTooMany:
        raise no("Too many metadata entries", "METADATA", "TOOMANY") from None
    return ok("SETMETADATA completed")


__all__ = ["check_entry", "getmetadata", "metadata_limits", "setmetadata"]
