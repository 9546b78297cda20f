"""SORT and UID SORT (RFC 5256 §BASE.6.4.SORT, RFC 5957 DISPLAYFROM / DISPLAYTO),
and the per-message sort keys THREAD (:mod:`.thread`) shares.

The keys (sent date, first From/To/Cc mailbox, display names, base subject,
Message-ID, References) live in the index's ``sort_fields`` table, so sorting
or threading 100,000 messages is one index query and a Python sort: no message
file is opened. A message without a row yet (files dropped into ``new/`` by
another program, or appended since the last SORT) has its header block read
once, here, and its row written: each file is opened at most once for sorting,
ever (Dovecot's cache file works the same way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from mailtool.mra.imap import header_fill
from mailtool.mra.imap import search as search_cmd
from mailtool.mra.imap.headers import decoded_fields, split_fields
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.selected import SelectedMailbox
from mailtool.mra.imap.session import SELECTED, Done, Session, command, no, ok
from mailtool.mra.imap.sort_fields import fields_of
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import SortResult
from mailtool.protocol.imap.search import SearchKey, uses_key
from mailtool.protocol.imap.sort import SortCriterion, ascii_casemap
from mailtool.store.interfaces import HEADER_FIELDS

#: RFC 5256 §BASE.6.4.SORT: US-ASCII and UTF-8 must be accepted
CHARSETS = ("US-ASCII", "UTF-8")


class SortKeys(NamedTuple):
    """What SORT and THREAD compare, for one message (RFC 5256 §2)."""

    uid: int
    size: int
    arrival: float  # INTERNALDATE
    sent: float  # Date: in UTC seconds, INTERNALDATE when missing or unparsable (§2.2)
    from_mailbox: str
    to_mailbox: str
    cc_mailbox: str
    from_display: str
    to_display: str
    subject: str  # base subject (§2.1), not yet case-mapped
    reply: bool  # the subject said Re:/Fwd: (THREAD REFERENCES step 6)
    message_id: str
    refs: tuple[str, ...]  # References, else In-Reply-To (THREAD REFERENCES step 1)


# -- the index, filled on demand -----------------------------------------------------


def _keys(row: Sequence[Any]) -> SortKeys:
    uid, size, arrival, sent, fm, tm, cm, fd, td, subject, reply, mid, refs = row
    return SortKeys(
        uid, size, arrival, arrival if sent is None else sent, fm, tm, cm, fd, td,
        subject, bool(reply), mid, tuple(refs.split()) if refs else (),
    )  # fmt: skip


def load_keys(mail: Any, folder: str) -> dict[int, SortKeys]:
    """UID -> sort keys of every message of ``folder``, from the index; rows missing
    from the index are made from the header block (read once) and stored."""
    store_mail = getattr(mail, "mail", None)  # StoreUserMail -> mailtool.store UserMail
    if store_mail is None or not hasattr(store_mail, "index"):
        return _keys_without_index(mail, folder)
    box = store_mail.folder(folder)
    index = store_mail.index
    header_fill.FILLER.settle((mail.user, box.name))  # a SEARCH's rows being made: first
    # sized=False: a command that sorts by SIZE had the session count them first
    # (session._needs_sizes); for the others a count would read every dropped file
    rows = index.sort_rows(box.name, sized=False)
    missing = [r[0] for r in rows if r[9] is None]
    if missing:
        fresh = {}
        # the same read fills SEARCH's header cache too (one read of each header for both)
        cached = set(index.header_cached_uids(box.name))
        headers = []
        # each header block read once, bounded (store.mailbase.MAX_HEADER), on either backend
        for uid, header in box.read_headers(box.messages(missing, sized=False, dated=False)):
            pairs = split_fields(header or b"")  # the fields split once for both
            if header is not None:
                fresh[uid] = (uid, *fields_of(header, pairs))
            if uid not in cached:
                headers.append((uid, decoded_fields(header or b"", HEADER_FIELDS, pairs)))
        if fresh:
            index.put_sort_fields(box.name, list(fresh.values()))  # prunes stale rows too
        if headers:
            index.put_cached_fields(box.name, headers, ())
        rows = [r if r[9] is not None or r[0] not in fresh else (*r[:3], *fresh[r[0]][1:])
                for r in rows]  # fmt: skip
    return {r[0]: _keys(r) for r in rows if r[9] is not None}


def _keys_without_index(mail: Any, folder: str) -> dict[int, SortKeys]:
    """Any other :class:`~.backend.UserMail`: read each header (tests' fakes)."""
    out = {}
    for meta in mail.snapshot(folder).messages:
        header = mail.read_header(folder, meta.uid) or b""
        out[meta.uid] = _keys((meta.uid, meta.size, meta.internal_date, *fields_of(header)))
    return out


def keys_for(box: SelectedMailbox, keys: dict[int, SortKeys], uids: list[int]) -> list[SortKeys]:
    """Keys of ``uids`` in mailbox order; a message the store no longer has (expunged,
    not yet announced) sorts on what the session still knows of it."""
    out = []
    for uid in uids:
        k = keys.get(uid)
        if k is None:
            meta = box.meta[uid]
            d = meta.internal_date
            k = SortKeys(uid, meta.size, d, d, "", "", "", "", "", "", False, "", ())
        out.append(k)
    return out


async def selected_keys(s: Session, charset: str, program: tuple[SearchKey, ...]) -> list[SortKeys]:
    """The sort keys of the messages ``program`` matches, in mailbox order: what both
    SORT and THREAD start from."""
    box = s.selected
    assert box is not None and s.mail is not None
    if charset.upper() not in CHARSETS:
        raise no("Unsupported charset", "BADCHARSET", CHARSETS)
    if program == (SearchKey("ALL"),):
        uids = [u for u in box.uids if not box.expunged(u)]
    else:
        uids = search_cmd.run_search(s, box, program)
    keys = await asyncio.to_thread(load_keys, s.mail, box.name)
    return keys_for(box, keys, uids)


# -- SORT -------------------------------------------------------------------------------

_KEY: dict[str, Callable[[SortKeys], Any]] = {
    "ARRIVAL": lambda k: k.arrival,
    "DATE": lambda k: k.sent,
    "SIZE": lambda k: k.size,
    "FROM": lambda k: ascii_casemap(k.from_mailbox),
    "TO": lambda k: ascii_casemap(k.to_mailbox),
    "CC": lambda k: ascii_casemap(k.cc_mailbox),
    "SUBJECT": lambda k: ascii_casemap(k.subject),
    "DISPLAYFROM": lambda k: ascii_casemap(k.from_display),
    "DISPLAYTO": lambda k: ascii_casemap(k.to_display),
}


def sort_keys(items: list[SortKeys], criteria: Sequence[SortCriterion]) -> list[SortKeys]:
    """Sorted by ``criteria``; exact ties keep mailbox order (RFC 5256 §BASE.6.4.SORT).

    One stable sort per criterion, last first: each REVERSE applies to its own key
    only, and equal messages stay in the order the earlier passes left them."""
    out = list(items)
    for crit in reversed(criteria):
        out.sort(key=_KEY[crit.key], reverse=crit.reverse)
    return out


@command("SORT", states=SELECTED, expunge_ok=False)
async def sort(s: Session, cmd: c.Sort) -> Done:
    box = s.selected
    assert box is not None
    items = sort_keys(await selected_keys(s, cmd.charset, cmd.keys), cmd.criteria)
    numbers = tuple(k.uid for k in items) if cmd.uid else tuple(box.msn(k.uid) for k in items)
    modseq = None
    if uses_key(cmd.keys, search_cmd.MODSEQ_KEYS):  # RFC 7162 §3.1.5: SORT answers MODSEQ too
        enable_condstore(s)
        modseq = max((box.meta[k.uid].modseq for k in items), default=None)
    s.send(SortResult(numbers, modseq))
    return ok(f"{'UID ' if cmd.uid else ''}SORT completed")


__all__ = ["CHARSETS", "SortKeys", "fields_of", "load_keys", "selected_keys", "sort", "sort_keys"]
