"""FETCH and UID FETCH (RFC 9051 §6.4.5, BINARY RFC 3516, CONDSTORE/QRESYNC
RFC 7162 CHANGEDSINCE and VANISHED).

Items answered from the index alone (FLAGS, UID, RFC822.SIZE, INTERNALDATE,
MODSEQ) never open the message file; whole messages (BODY[], RFC822, BINARY[])
are streamed from the file in chunks (:mod:`.message_file`); the other items
parse the message once per message with :mod:`mailtool.protocol.mime`. A body
fetch without ``.PEEK`` sets ``\\Seen`` (RFC 9051 §6.4.5) in one store call for
the whole set, and those messages' responses carry the new FLAGS.

Responses are written item by item through :meth:`Session.write`, which waits
for the client once a quarter of ``[limits] output_buffer`` is pending: memory
stays bounded whatever the command asks for (``(BODY[TEXT] BODY[TEXT] ...)``
x 1,000 on a big message, ``1:* BODY[]`` to a client that does not read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mailtool.mra.imap import envelope_cache, wire
from mailtool.mra.imap.backend import MessageMeta, internal_datetime
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.message_file import MessageFile, is_whole_message
from mailtool.mra.imap.selected import SelectedMailbox
from mailtool.mra.imap.session import SELECTED, Done, Session, bad, command, no, ok
from mailtool.protocol import mime
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.dates import format_timestamp
from mailtool.protocol.imap.fetch import FetchAttr
from mailtool.protocol.imap.fetch_stream import (
    FETCH_END,
    fetch_item,
    fetch_start,
    is_literal_item,
    literal_header,
)
from mailtool.protocol.imap.responses import FetchData, Vanished
from mailtool.protocol.mime.downgrade import downgrade_header, downgrade_value

#: items that need the message itself
CONTENT_ITEMS = frozenset(
    ("ENVELOPE", "BODY", "BODYSTRUCTURE", "RFC822", "RFC822.HEADER", "RFC822.TEXT",
     "BINARY", "BINARY.SIZE")
)  # fmt: skip
#: items whose fetch marks the message \Seen unless .PEEK (RFC 9051 §6.4.5)
SEEN_SETTING = frozenset(("RFC822", "RFC822.TEXT"))
#: items answered from the index alone
INDEX_ITEMS = frozenset(("UID", "FLAGS", "MODSEQ", "INTERNALDATE", "RFC822.SIZE"))
#: items answered from the index and its ENVELOPE cache (:mod:`.envelope_cache`)
CACHED_ITEMS = INDEX_ITEMS | {"ENVELOPE"}
#: messages per output chunk on the index-only path
CHUNK = 2000
#: messages larger than this are read and parsed in a worker thread
PARSE_IN_THREAD = 256 * 1024
#: a response that cannot be larger than this is formatted whole, not item by item
WHOLE_BELOW = 64 * 1024
_flag_text: dict[frozenset[str], str] = {}


def flag_list(flags: frozenset[str]) -> str:
    """``(\\Seen $Work)``, memoised: mailboxes use few distinct flag sets."""
    text = _flag_text.get(flags)
    if text is None:
        if len(_flag_text) > 10_000:
            _flag_text.clear()
        text = _flag_text[flags] = "(" + " ".join(wire.sorted_flags(flags)) + ")"
    return text


def _internaldate(m: MessageMeta) -> str:
    return format_timestamp(m.internal_date)


#: index item -> (response text with a %-placeholder, how to get its value)
_INDEX_FORMAT: dict[str, tuple[str, Callable[[MessageMeta], object]]] = {
    "UID": ("UID %d", lambda m: m.uid),
    "FLAGS": ("FLAGS %s", lambda m: flag_list(m.flags)),
    "MODSEQ": ("MODSEQ (%d)", lambda m: m.modseq),
    "RFC822.SIZE": ("RFC822.SIZE %d", lambda m: m.size),
    "INTERNALDATE": ("INTERNALDATE %s", _internaldate),
}


async def _fetch_index_only(
    s: Session, box: SelectedMailbox, uids: list[int], names: list[str]
) -> None:
    """FETCH of index items only (``UID FETCH 1:* (FLAGS)`` of a client syncing a big
    mailbox): each line is one %-format of a template, about a microsecond."""
    template = "* %d FETCH (" + " ".join(_INDEX_FORMAT[n][0] for n in names) + ")\r\n"
    getters = [_INDEX_FORMAT[n][1] for n in names]
    uid_flags = names == ["UID", "FLAGS"]  # what syncing clients ask, made fastest
    meta = box.meta
    view = box.uids
    if uid_flags and len(uids) == len(view):  # the whole mailbox: one comprehension
        fl = flag_list
        for start in range(0, len(view), CHUNK):
            part = view[start : start + CHUNK]
            s.send(
                "".join(
                    [
                        f"* {n} FETCH (UID {u} FLAGS {fl(meta[u].flags)})\r\n"
                        for n, u in enumerate(part, start + 1)
                    ]
                ).encode()
            )
            await s.flush()
        return
    out: list[str] = []
    pos = 0
    for uid in uids:  # ascending, like the view: walk both instead of searching
        while view[pos] != uid:
            pos += 1
        m = meta[uid]
        if uid_flags:
            out.append(template % (pos + 1, uid, flag_list(m.flags)))
        else:
            out.append(template % (pos + 1, *[g(m) for g in getters]))
        if len(out) >= CHUNK:
            s.send("".join(out).encode())
            out.clear()
            await s.flush()
    if out:
        s.send("".join(out).encode())


def _sets_seen(a: FetchAttr) -> bool:
    if a.name in SEEN_SETTING:
        return True
    return a.name in ("BODY", "BINARY") and a.section is not None and not a.peek


@command("FETCH", states=SELECTED, expunge_ok=True)
async def fetch(s: Session, cmd: c.Fetch) -> Done:
    box = s.selected
    assert box is not None and s.mail is not None
    attrs = list(cmd.attributes)
    names = {a.name for a in attrs}
    if cmd.vanished and not s.qresync:
        raise bad("VANISHED needs ENABLE QRESYNC")  # RFC 7162 §3.2.6
    if "MODSEQ" in names or cmd.changedsince is not None:
        enable_condstore(s)  # RFC 7162 §3.1: CONDSTORE-enabling
    if cmd.uid and "UID" not in names:
        attrs.insert(0, FetchAttr("UID"))  # RFC 9051 §6.4.9
    if cmd.changedsince is not None and "MODSEQ" not in names:
        attrs.append(FetchAttr("MODSEQ"))  # RFC 7162 §3.1.4.1
    uids = box.resolve(cmd.sequence_set, uid=cmd.uid)
    if cmd.vanished and cmd.changedsince is not None:
        gone = s.mail.changes(box.name, cmd.changedsince).vanished
        top = max(box.uidnext - 1, 1)
        gone = cmd.sequence_set.filter([u for u in gone if u not in box.meta], top)
        if gone:
            s.send(Vanished(wire.uid_set(gone), earlier=True))
    if cmd.changedsince is not None:
        uids = [u for u in uids if box.meta[u].modseq > cmd.changedsince]
    reflagged = _mark_seen(s, box, uids, attrs)
    if names <= INDEX_ITEMS and not reflagged:
        await _fetch_index_only(s, box, uids, [a.name for a in attrs])
        return ok(f"{'UID ' if cmd.uid else ''}FETCH completed")
    if names <= CACHED_ITEMS and not reflagged and envelope_cache.supported(s):
        # a client's first sync: ENVELOPE from the index's cache, no file opened
        wanted = [a.name for a in attrs]
        gone = await envelope_cache.fetch_cached(s, box, uids, wanted, _INDEX_FORMAT)
        if gone:
            return ok(f"{'UID ' if cmd.uid else ''}FETCH completed; some messages were expunged")
        return ok(f"{'UID ' if cmd.uid else ''}FETCH completed")
    # a message is parsed for items other than whole messages, or when it is small
    # (mbsync's FETCH 1:* BODY.PEEK[]: one read, one write); whole messages of a big
    # one are streamed from its file (two passes: the CRLF size, then the bytes)
    parse = any(a.name in CONTENT_ITEMS and not is_whole_message(a) for a in attrs)
    from_file = not parse and any(is_whole_message(a) for a in attrs)
    # how many items send message text; none (ENVELOPE, flags...) or a small message:
    # the response is small, formatted whole (as fast as ever); else item by item
    texts = sum(is_literal_item(a.response_key()) for a in attrs)
    missing = False
    for uid in uids:
        meta = box.meta[uid]
        extra: list[tuple[FetchAttr, object]] = []
        if uid in reflagged and "FLAGS" not in names:
            extra.append((wire.FLAGS, wire.sorted_flags(meta.flags)))
        if s.condstore and uid in reflagged and "MODSEQ" not in names:
            extra.append((wire.MODSEQ, meta.modseq))
        # RFC822.SIZE bounds every section of the message (2x: bare LFs made CRLF)
        small = texts * 2 * meta.size <= WHOLE_BELOW
        if from_file and not small:  # a big whole message: from its file, never whole
            fh = s.mail.open(box.name, uid)
            if fh is None:
                missing = True  # expunged by another session, not yet announced
                continue
            with fh:
                await _send_message(s, box.msn(uid), attrs, meta, None, MessageFile(fh), extra)
            continue
        msg = None
        if parse or from_file:  # a small whole message: read once, formatted whole
            msg = await _parsed(s, box.name, uid, meta)
            if msg is None:
                missing = True
                continue
            _check_cte(msg, attrs)
        if small:
            items = [(a.response_key(), _value(a, meta, msg, utf8=s.utf8)) for a in attrs]
            await s.write(FetchData(box.msn(uid), (*items, *extra)))
        else:
            await _send_message(s, box.msn(uid), attrs, meta, msg, None, extra)
    if missing:
        # RFC 2180 §4.1.3 (as Dovecot): a message another session expunged, whose
        # file is gone, is left out and the FETCH still succeeds; its EXPUNGE comes
        # when one may be sent (docs/rfc-status.md, issue 16 class 13)
        return ok(f"{'UID ' if cmd.uid else ''}FETCH completed; some messages were expunged")
    return ok(f"{'UID ' if cmd.uid else ''}FETCH completed")


async def _parsed(s: Session, folder: str, uid: int, meta: MessageMeta) -> mime.Message | None:
    """The message read and parsed; a big one in a worker thread (DESIGN principle 6:
    no big MIME parse on the event loop)."""
    assert s.mail is not None
    mail = s.mail

    def load() -> mime.Message | None:
        raw = mail.read(folder, uid)
        return None if raw is None else mime.parse(raw)

    if meta.size > PARSE_IN_THREAD:
        return await asyncio.to_thread(load)
    return load()


async def _send_message(
    s: Session,
    msn: int,
    attrs: list[FetchAttr],
    meta: MessageMeta,
    msg: mime.Message | None,
    file: MessageFile | None,
    extra: list[tuple[FetchAttr, object]],
) -> None:
    """One ``* n FETCH (...)`` response, item by item: each value is made when its
    turn comes and written in chunks, so one message's answer is never whole in
    memory (nor is a big item joined to the rest)."""
    await s.write(fetch_start(msn))
    first = True
    for a in attrs:
        key = a.response_key()
        if file is not None and is_whole_message(a):
            size, literal8, chunks = file.literal(a)
            await s.write(literal_header(key, size, first=first, binary=literal8))
            for chunk in chunks:
                await s.write(chunk)
        else:
            value = _value(a, meta, msg, utf8=s.utf8)
            text, data = fetch_item(key, value, first=first, utf8=s.utf8)
            await s.write(text)
            if data is not None:
                await s.write_literal(data)
                del data
        first = False
    for key, value in extra:
        text, _ = fetch_item(key, value, first=first, utf8=s.utf8)
        await s.write(text)
        first = False
    await s.write(FETCH_END)


def _check_cte(msg: mime.Message, attrs: list[FetchAttr]) -> None:
    """RFC 3516 §4.2: NO [UNKNOWN-CTE] when a BINARY part cannot be decoded, decided
    before the message's response starts (its items are then made one by one)."""
    for a in attrs:
        if a.name not in ("BINARY", "BINARY.SIZE") or a.section is None:
            continue
        part = mime.find_part(msg, a.section.part) if a.section.part else msg.root
        for leaf in _leaves(part):
            try:
                mime.decode_body(b"", mime.transfer_encoding(leaf))
            except mime.UnknownCTE:
                raise no("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE") from None


def _leaves(part: mime.Part | None) -> list[mime.Part]:
    """The leaf parts BINARY of ``part`` decodes (every leaf below it)."""
    if part is None:
        return []
    if part.kind in (mime.MULTIPART, mime.RFC822):
        return [leaf for child in part.children for leaf in _leaves(child)]
    return [part]


def _mark_seen(
    s: Session, box: SelectedMailbox, uids: list[int], attrs: list[FetchAttr]
) -> set[int]:
    if box.readonly or not any(_sets_seen(a) for a in attrs):
        return set()
    unseen = [u for u in uids if "\\Seen" not in box.meta[u].flags and not box.expunged(u)]
    if not unseen:
        return set()
    assert s.mail is not None
    changed, _ = s.mail.set_flags(box.name, unseen, "+", ["\\Seen"])
    box.note_own_flags(changed)
    return {m.uid for m in changed}


def _value(
    a: FetchAttr, meta: MessageMeta, msg: mime.Message | None, *, utf8: bool = True
) -> object:
    """One item's value; ``utf8=False`` (the client did not ENABLE UTF8=ACCEPT):
    header text downgraded to encoded words (RFC 6855 §6, :mod:`.mime.downgrade`)."""
    name = a.name
    if name == "UID":
        return meta.uid
    if name == "FLAGS":
        return wire.sorted_flags(meta.flags)
    if name == "RFC822.SIZE":
        return meta.size
    if name == "INTERNALDATE":
        return internal_datetime(meta)
    if name == "MODSEQ":
        return meta.modseq
    assert msg is not None
    if name == "ENVELOPE":
        env = mime.envelope(msg)
        header = msg.raw[: msg.root.body_start]
        return env if utf8 or header.isascii() else downgrade_value(env)
    if name == "BODYSTRUCTURE" or (name == "BODY" and a.section is None):
        body = mime.bodystructure(msg, extended=name == "BODYSTRUCTURE")
        return body if utf8 or msg.raw.isascii() else downgrade_value(body)
    if name == "RFC822":
        return msg.raw
    if name == "RFC822.HEADER":
        header = mime.section(msg, (), "HEADER")
        return header if utf8 or header is None else downgrade_header(header)
    if name == "RFC822.TEXT":
        return mime.section(msg, (), "TEXT")
    assert a.section is not None
    try:
        if name == "BODY":
            data = mime.section(msg, a.section.part, a.section.text, a.section.fields)
            if not utf8 and data is not None and a.section.text not in (None, "TEXT"):
                data = downgrade_header(data)  # HEADER, HEADER.FIELDS[.NOT], MIME
        elif name == "BINARY.SIZE":
            return mime.binary_size(msg, a.section.part) or 0
        else:
            data = mime.binary(msg, a.section.part)
    except mime.UnknownCTE:
        # RFC 3516 §4.2: the server cannot decode this part
        raise no("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE") from None
    if data is not None and a.partial is not None:
        origin, length = a.partial
        data = data[origin : origin + length if length is not None else None]
    return b"" if data is None else data


__all__ = ["fetch"]
