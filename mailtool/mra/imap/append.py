"""APPEND (RFC 9051 §6.3.12) with flags, internal date and APPENDUID (RFC 4315).

The literal's size was already checked by the command reader against
``limits.max_message_size`` (``NO [TOOBIG]`` before the client sends it, RFC
7889); ``OK`` means the file and its index row are fsynced (DESIGN principle
1), which is why the store call runs in a worker thread. A message over
``[limits] spool_threshold`` never was in memory: the session wrote it to a
file in the user's Maildir ``tmp/`` as it arrived (:mod:`.spool`), and the
store renames that file into the folder.
"""

from __future__ import annotations

import asyncio

from mailtool.errors import NotFound
from mailtool.mra.imap.session import AUTH, Done, Session, command, no, ok
from mailtool.mra.imap.store_cmd import clean_flags
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.mime import to_crlf
from mailtool.store.interfaces import InvalidFolderName


@command("APPEND", states=AUTH)
async def append(s: Session, cmd: c.Append) -> Done:
    assert s.mail is not None
    flags = clean_flags(cmd.flags)
    if cmd.spooled is not None:
        return await _append_spooled(s, cmd, flags)
    if not cmd.message:
        raise no("Empty message", "CANNOT")
    if len(cmd.message) > s.config.limits.max_message_size:
        raise no("Message too large", "TOOBIG")
    # RFC 9051 §2.2 / §6.3.12: messages are CRLF text; store what FETCH will send,
    # so RFC822.SIZE (the file size) equals the size of BODY[]
    data = cmd.message
    if data.count(b"\n") != data.count(b"\r\n"):  # two C scans, not a regex pass
        data = to_crlf(data)
    try:  # the store finds the folder once, in the worker thread (no separate check)
        uidvalidity, uid = await asyncio.to_thread(
            s.mail.append, cmd.mailbox, data, flags, cmd.internal_date
        )
    except (NotFound, InvalidFolderName):
        # RFC 9051 §6.3.12: TRYCREATE when the target mailbox does not exist
        raise no("Mailbox does not exist", "TRYCREATE") from None
    return _appended(uidvalidity, uid)


async def _append_spooled(s: Session, cmd: c.Append, flags: list[str]) -> Done:
    assert s.mail is not None
    spool = s.take_spool()
    path = spool.finish() if spool is not None else None
    if path is None:
        raise no("The message could not be stored", "SERVERBUG")  # logged by the spool
    try:  # append_file removes the file whatever happens
        uidvalidity, uid = await asyncio.to_thread(
            s.mail.append_file, cmd.mailbox, path, flags, cmd.internal_date
        )
    except (NotFound, InvalidFolderName):
        raise no("Mailbox does not exist", "TRYCREATE") from None
    return _appended(uidvalidity, uid)


def _appended(uidvalidity: int, uid: int) -> Done:
    return ok("APPEND completed", "APPENDUID", (uidvalidity, SequenceSet.from_numbers([uid])))


__all__ = ["append"]
