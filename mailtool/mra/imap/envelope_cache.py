"""FETCH ENVELOPE from the index's envelope cache (issue 22 point 5).

A client's first sync asks ``UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)``;
parsing every message file for its ENVELOPE on every such FETCH made it 20 times
slower than Dovecot, which keeps the envelope in its cache after first use. So do we:
the index keeps each message's ENVELOPE as the wire bytes we send (both forms: for a
client that enabled UTF8=ACCEPT, and the downgraded one for a client that did not,
RFC 6855 §6), filled the first time a FETCH makes it. A FETCH of index items and
ENVELOPE then opens no file: one query reads the cached rows, each response line is
formatted from bytes. SEARCH and SORT, which read each header block once anyway, do
not fill it: making an envelope costs ~100 us a message, 2 s more on a first SEARCH
of 20,000 (already 4x Dovecot's time), so the first sync pays it instead.

The bytes are those :func:`~mailtool.protocol.imap.responses.format_response` writes
for the value ``_value`` in :mod:`.fetch` returns, so a cached answer is byte-identical
to a fresh parse (tests/mra/imap/test_envelope_cache.py holds them equal).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailtool.errors import StoreError
from mailtool.protocol import mime
from mailtool.protocol.imap.values import Writer
from mailtool.protocol.mime.downgrade import downgrade_value
from mailtool.store.interfaces import MAX_HEADER

if TYPE_CHECKING:
    from mailtool.mra.imap.selected import SelectedMailbox
    from mailtool.mra.imap.session import Session

#: messages per output chunk (as the index-only path)
CHUNK = 2000
#: what a writer without UTF8=ACCEPT quotes as it is (no literal, no 8-bit)
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")


def _wire(value: object, *, utf8: bool) -> bytes:
    return Writer(utf8=utf8).value(value).getvalue()  # type: ignore[arg-type]


def envelope_forms(msg: mime.Message) -> tuple[bytes, bytes | None]:
    """``(UTF8=ACCEPT form, other form or None when the same)`` of the message's
    ENVELOPE as wire bytes: what FETCH sends either kind of client (RFC 6855 §6)."""
    env = mime.envelope(msg)
    utf8 = _wire(env, utf8=True)
    header = msg.raw[: msg.root.body_start]
    if header.isascii() and _PRINTABLE.fullmatch(utf8):
        return utf8, None  # printable ASCII quoted strings only: both writers agree
    other = _wire(env if header.isascii() else downgrade_value(env), utf8=False)
    return utf8, None if other == utf8 else other


def header_forms(header: bytes) -> tuple[bytes, bytes | None] | None:
    """:func:`envelope_forms` from a message's header block alone (a miss reads no more),
    or None when the block may not be the whole header as the parser sees it (cut at
    ``MAX_HEADER``, no empty line, the parser ending it elsewhere: bare LFs, mixed line
    ends): the whole message is parsed then."""
    if len(header) >= MAX_HEADER or not header.endswith((b"\n\n", b"\r\n\r\n")):
        return None
    msg = mime.parse(header)
    if msg.root.body_start != len(header):
        return None
    return envelope_forms(msg)


def supported(s: Session) -> bool:
    """Whether the session's mail keeps an envelope cache (tests' fakes do not)."""
    return hasattr(s.mail, "cached_envelopes")


def _make(mail: Any, folder: str, uids: list[int]) -> dict[int, tuple[bytes, bytes | None]]:
    """Both forms of each message's envelope from its header block (the store reads
    them in batches, no query per message), the whole message parsed where the block
    is not enough; a message gone meanwhile has none. Runs in a worker thread."""
    out = {}
    for uid, header in mail.read_headers(folder, uids):
        if header is None:
            continue
        forms = header_forms(header)
        if forms is None:
            raw = mail.read(folder, uid)
            if raw is None:
                continue
            forms = envelope_forms(mime.parse(raw))
        out[uid] = forms
    return out


async def fetch_cached(
    s: Session, box: SelectedMailbox, uids: list[int], names: list[str],
    index_format: dict[str, tuple[str, Callable[[Any], object]]],
) -> bool:  # fmt: skip
    """Answer a FETCH of index items and ENVELOPE, :data:`CHUNK` messages at a time; the
    envelopes a chunk lacks are made in a worker thread (DESIGN principle 6: 20,000 of
    them are seconds of CPU) and stored once its answer is sent, one transaction a
    chunk: what is made is held for one chunk only, however big the folder, and a
    client that goes away mid-sync keeps what was made. Returns whether some message
    was gone (expunged by another session)."""
    mail = s.mail
    assert mail is not None
    utf8 = s.utf8
    lookup = mail.cached_envelopes  # type: ignore[attr-defined]
    cached: dict[int, bytes] = await asyncio.to_thread(lookup, box.name, uids, utf8=utf8)
    # per item: (%-template, getter) for index items, None for ENVELOPE
    pieces = [None if n == "ENVELOPE" else index_format[n] for n in names]
    meta = box.meta
    view = box.uids
    missing = False
    pos = 0
    for start in range(0, len(uids), CHUNK):
        chunk = uids[start : start + CHUNK]
        lacking = [u for u in chunk if u not in cached]
        made = await asyncio.to_thread(_make, mail, box.name, lacking) if lacking else {}
        out: list[bytes] = []
        fresh: list[tuple[int, bytes, bytes | None]] = []
        for uid in chunk:  # ascending, like the view: walk both instead of searching
            while view[pos] != uid:
                pos += 1
            env = cached.get(uid)
            if env is None:
                forms = made.get(uid)
                if forms is None:
                    missing = True  # expunged by another session, not yet announced
                    continue
                fresh.append((uid, *forms))
                env = forms[0] if utf8 or forms[1] is None else forms[1]
            m = meta[uid]
            parts = [b"ENVELOPE " + env if p is None else (p[0] % p[1](m)).encode() for p in pieces]
            out.append(b"* %d FETCH (%s)\r\n" % (pos + 1, b" ".join(parts)))
        s.send(b"".join(out))
        del out
        await s.flush()
        if fresh:
            await _keep(mail, box.name, fresh)
    return missing


async def _keep(mail: Any, folder: str, rows: list[tuple[int, bytes, bytes | None]]) -> None:
    """Store a chunk's new envelopes; a failure costs only a parse at the next FETCH."""
    try:
        await asyncio.to_thread(mail.cache_envelopes, folder, rows)
    except StoreError as exc:
        logging.getLogger("mailtool").warning("envelope cache of %s not written: %s",
                                              folder, exc)  # fmt: skip


__all__ = ["envelope_forms", "fetch_cached", "header_forms", "supported"]
