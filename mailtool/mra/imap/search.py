"""SEARCH and UID SEARCH with every RFC 9051 §6.4.4 key, CONDSTORE's MODSEQ,
ESEARCH return options (RFC 4731: MIN MAX COUNT ALL) and SEARCHRES (RFC 5182
SAVE and ``$``).

Keys on flags, size, dates, UIDs and MODSEQ are answered from the index; only
header and text keys open messages, and then only the messages that survive
the cheap keys of the same AND (cheap keys are evaluated first).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import time
from collections.abc import Callable

from mailtool.mra.imap.backend import MessageMeta, internal_datetime
from mailtool.mra.imap.headers import CACHE, CACHED, decoded_fields
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.selected import SelectedMailbox
from mailtool.mra.imap.session import SELECTED, Done, Session, bad, command, no, ok
from mailtool.protocol import mime
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import ESearch, SearchResult
from mailtool.protocol.imap.search import ModSeqCriterion, SearchKey, uses_key
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.store.interfaces import HEADER_FIELDS

CHARSETS = ("US-ASCII", "UTF-8")
FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True), "UNANSWERED": ("\\Answered", False),
    "DELETED": ("\\Deleted", True), "UNDELETED": ("\\Deleted", False),
    "DRAFT": ("\\Draft", True), "UNDRAFT": ("\\Draft", False),
    "FLAGGED": ("\\Flagged", True), "UNFLAGGED": ("\\Flagged", False),
    "SEEN": ("\\Seen", True), "UNSEEN": ("\\Seen", False),
}  # fmt: skip
HEADER_KEYS = {"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc", "SUBJECT": "Subject"}
CONTENT_KEYS = frozenset(
    ("BODY", "TEXT", "HEADER", *HEADER_KEYS, "SENTBEFORE", "SENTON", "SENTSINCE")
)


class Candidate:
    """One message under test; its file is read at most once, and only as much
    of it as the keys need (the header block, through the header cache)."""

    __slots__ = ("_msg", "box", "hits", "meta", "msn", "s")

    def __init__(
        self,
        s: Session,
        box: SelectedMailbox,
        meta: MessageMeta,
        msn: int,
        hits: Hits | None = None,
    ) -> None:
        self.s = s
        self.box = box
        self.meta = meta
        self.msn = msn
        #: header keys already answered for the whole folder from the index
        self.hits = hits or {}
        self._msg: mime.Message | None = None

    @property
    def msg(self) -> mime.Message | None:
        if self._msg is None:
            assert self.s.mail is not None
            raw = self.s.mail.read(self.box.name, self.meta.uid)
            if raw is None:
                return None
            self._msg = mime.parse(raw)
        return self._msg

    def header(self, name: str) -> tuple[str, ...]:
        """Decoded values of header field ``name``."""
        lname = name.lower()
        if lname not in CACHED:
            msg = self.msg
            return () if msg is None else tuple(v.casefold() for v in _header_values(msg, name))
        box = self.box
        assert self.s.mail is not None
        key = (self.s.mail.user, box.name, box.uidvalidity, self.meta.uid)
        fields = CACHE.get(key)
        if fields is None:
            if self._msg is not None:
                raw = self._msg.raw
            else:
                raw = self.s.mail.read_header(box.name, self.meta.uid)
                if raw is None:
                    return ()
            fields = decoded_fields(raw)
            CACHE.put(key, fields)
        return fields.get(lname, ())


@functools.lru_cache(maxsize=256)
def _fold(text: str) -> str:
    """Case-insensitive form of a search string (memoised: the same needle is
    folded once per search, not once per message)."""
    return text.casefold()


def _header_values(msg: mime.Message, name: str) -> list[str]:
    return [
        mime.decode_header(f.value.decode("utf-8", "surrogateescape"))
        for f in msg.root.get(name.encode())
    ]


def _header_contains(c: Candidate, name: str, needle: str) -> bool:
    values = c.header(name)
    if not needle:
        return bool(values)  # RFC 9051 §6.4.4 HEADER with "": the field exists
    n = _fold(needle)
    return any(n in v for v in values)  # header values are kept case-folded


def _text_parts(msg: mime.Message) -> list[str]:
    """The decoded text of every text/* leaf (for BODY and TEXT)."""
    out: list[str] = []
    stack = [msg.root]
    while stack:
        part = stack.pop()
        if part.children:
            stack.extend(reversed(part.children))
            continue
        info = mime.content(part)
        kind = (info.type or b"text").lower()
        if kind != b"text":
            continue
        body = msg.raw[part.body_start : part.body_end]
        try:
            enc = None if info.encoding is None else info.encoding.decode("ascii", "replace")
            body = mime.decode_body(body, enc)
        except mime.MimeError:
            pass
        charset = dict((k.lower(), v) for k, v in info.params or ()).get(b"charset", b"utf-8")
        try:
            out.append(body.decode(charset.decode("ascii", "replace"), "replace"))
        except LookupError:
            out.append(body.decode("utf-8", "replace"))
    return out


def _body_contains(c: Candidate, needle: str, *, headers: bool) -> bool:
    msg = c.msg
    if msg is None:
        return False
    n = _fold(needle)
    if headers:
        for f in msg.root.fields:
            value = mime.decode_header(f.value.decode("utf-8", "surrogateescape"))
            if n in _fold(f.name.decode("ascii", "replace") + ": " + value):
                return True
    return any(n in _fold(t) for t in _text_parts(msg))


def _sent_date(c: Candidate) -> dt.date | None:
    values = c.header("Date")
    if not values:
        return None
    try:
        return email.utils.parsedate_to_datetime(values[0]).date()
    except (TypeError, ValueError, IndexError):
        return None


def _compare(day: dt.date | None, name: str, arg: dt.date) -> bool:
    if day is None:
        return False
    if name.endswith("BEFORE"):
        return day < arg
    if name.endswith("ON"):
        return day == arg
    return day >= arg  # SINCE


def matches(key: SearchKey, c: Candidate) -> bool:
    """Whether the message satisfies ``key`` (RFC 9051 §6.4.4)."""
    name, arg = key.name, key.arg
    flags = c.meta.flags
    if name == "ALL":
        return True
    if name in FLAG_KEYS:
        flag, want = FLAG_KEYS[name]
        return (flag in flags) == want
    if name in ("NEW", "RECENT", "OLD"):
        # RFC 3501 §6.4.4: the session's \Recent (in its flags; never for IMAP4rev2)
        recent = "\\Recent" in flags
        return (recent and "\\Seen" not in flags) if name == "NEW" else recent == (name == "RECENT")
    if name == "KEYWORD":
        return str(arg) in flags
    if name == "UNKEYWORD":
        return str(arg) not in flags
    if name == "LARGER":
        return c.meta.size > arg  # type: ignore[operator]
    if name == "SMALLER":
        return c.meta.size < arg  # type: ignore[operator]
    if name in ("BEFORE", "ON", "SINCE"):
        return _compare(internal_datetime(c.meta).date(), name, arg)  # type: ignore[arg-type]
    if name in ("OLDER", "YOUNGER"):  # RFC 5032
        age = time.time() - c.meta.internal_date
        return age >= arg if name == "OLDER" else age <= arg  # type: ignore[operator]
    if name == "UID":
        box = c.box
        return arg.contains(c.meta.uid, box.uids[-1] if box.uids else 0)  # type: ignore[union-attr]
    if name == "SEQ":
        return arg.contains(c.msn, c.box.exists)  # type: ignore[union-attr]
    if name == "MODSEQ":
        crit: ModSeqCriterion = arg  # type: ignore[assignment]
        return c.meta.modseq >= crit.modseq
    if name == "NOT":
        return not matches(arg, c)  # type: ignore[arg-type]
    if name == "OR":
        a, b = arg  # type: ignore[misc]
        return matches(a, c) or matches(b, c)
    if name == "AND":
        return all_match(arg, c)  # type: ignore[arg-type]
    if name in HEADER_KEYS or name == "HEADER":
        hit = c.hits.get(key)
        if hit is not None:
            return c.meta.uid in hit
        if name == "HEADER":
            field, value = arg  # type: ignore[misc]
            return _header_contains(c, field, value)
        return _header_contains(c, HEADER_KEYS[name], str(arg))
    if name in ("BODY", "TEXT"):
        return _body_contains(c, str(arg), headers=name == "TEXT")
    if name in ("SENTBEFORE", "SENTON", "SENTSINCE"):
        return _compare(_sent_date(c), name, arg)  # type: ignore[arg-type]
    raise no(f"Unsupported search key {name}", "CANNOT")


def _cost(key: SearchKey) -> int:
    """1 when evaluating ``key`` may read the message, else 0."""
    if key.name in CONTENT_KEYS:
        return 1
    if key.name == "NOT":
        return _cost(key.arg)  # type: ignore[arg-type]
    if key.name in ("OR", "AND"):
        return max(_cost(k) for k in key.arg)  # type: ignore[union-attr]
    return 0


def all_match(keys: tuple[SearchKey, ...], c: Candidate) -> bool:
    """Every key matches; call with keys already in :func:`cheap_first` order."""
    return all(matches(k, c) for k in keys)


def cheap_first(keys: tuple[SearchKey, ...]) -> tuple[SearchKey, ...]:
    """Index-only keys before the ones that read messages (recursively)."""

    def fix(k: SearchKey) -> SearchKey:
        if k.name == "AND":
            return SearchKey("AND", cheap_first(k.arg))  # type: ignore[arg-type]
        if k.name == "NOT":
            return SearchKey("NOT", fix(k.arg))  # type: ignore[arg-type]
        if k.name == "OR":
            return SearchKey("OR", tuple(fix(x) for x in k.arg))  # type: ignore[union-attr]
        return k

    return tuple(sorted((fix(k) for k in keys), key=_cost))


#: the key whose use makes SEARCH and SORT answer a MODSEQ (RFC 7162 §3.1.5)
MODSEQ_KEYS = frozenset({"MODSEQ"})


def _resolve_saved(keys: tuple[SearchKey, ...], box: SelectedMailbox) -> tuple[SearchKey, ...]:
    """RFC 5182: ``$`` in a search program is the saved result (as UIDs)."""

    def fix(k: SearchKey) -> SearchKey:
        if k.name in ("SEQ", "UID") and isinstance(k.arg, SequenceSet) and k.arg.saved:
            return SearchKey("UID", SequenceSet.from_numbers(box.saved) if box.saved else _NONE)
        if k.name == "NOT":
            return SearchKey("NOT", fix(k.arg))  # type: ignore[arg-type]
        if k.name in ("OR", "AND"):
            return SearchKey(k.name, tuple(fix(x) for x in k.arg))  # type: ignore[union-attr]
        return k

    return tuple(fix(k) for k in keys)


#: a UID set nothing matches (UIDs start at 1)
_NONE = SequenceSet(((2**32 - 1, 2**32 - 1),))


#: header key -> UIDs it matches, computed for the whole folder at once
Hits = dict[SearchKey, set[int]]


def _indexed_field(key: SearchKey) -> tuple[str, str] | None:
    """(field, needle) of a header key the index's header cache can answer."""
    if key.name in HEADER_KEYS:
        field, needle = HEADER_KEYS[key.name], str(key.arg)
    elif key.name == "HEADER":
        field, needle = key.arg  # type: ignore[misc]
    else:
        return None
    return (field, needle) if field.lower() in HEADER_FIELDS else None


def _header_keys(keys: tuple[SearchKey, ...]) -> list[SearchKey]:
    """Every header key of the program, at any depth."""
    out: list[SearchKey] = []
    for k in keys:
        if k.name == "NOT":
            out += _header_keys((k.arg,))  # type: ignore[arg-type]
        elif k.name in ("OR", "AND"):
            out += _header_keys(tuple(k.arg))  # type: ignore[arg-type]
        elif _indexed_field(k) is not None:
            out.append(k)
    return out


def _folder_hits(
    s: Session, box: SelectedMailbox, keys: tuple[SearchKey, ...], view: list[int]
) -> Hits:
    """Header keys answered by one index scan each (no per-message work in Python),
    when the store keeps a header cache (the tests' fakes do not)."""
    header_search = getattr(s.mail, "header_search", None)
    wanted = _header_keys(keys)
    if header_search is None or not wanted:
        return {}
    hits: Hits = {}
    for k in wanted:
        if k not in hits:
            field, needle = _indexed_field(k)  # type: ignore[misc]
            hits[k] = header_search(box.name, field, _fold(needle), view)
    return hits


def run_search(s: Session, box: SelectedMailbox, keys: tuple[SearchKey, ...]) -> list[int]:
    """UIDs of the messages matching every key, ascending.

    Header keys on the fields the index caches are answered for the whole folder
    first; when the program's top level has any, only the messages they match are
    looked at one by one (``UID SEARCH SUBJECT x`` on 100,000 messages is one scan).
    """
    keys = cheap_first(_resolve_saved(keys, box))
    view = [u for u in box.uids if not box.expunged(u)]
    hits = _folder_hits(s, box, keys, view)
    top = [hits[k] for k in keys if k in hits]
    if top:
        common = set.intersection(*top)
        rest = tuple(k for k in keys if k not in hits)
        narrowed = [u for u in view if u in common]
        if not rest:
            return narrowed
        return [
            u for u in narrowed
            if all_match(rest, Candidate(s, box, box.meta[u], box.msn(u), hits))
        ]  # fmt: skip
    out = []
    for msn, uid in enumerate(box.uids, 1):
        if box.expunged(uid):
            continue
        if all_match(keys, Candidate(s, box, box.meta[uid], msn, hits)):
            out.append(uid)
    return out


@command("SEARCH", states=SELECTED)
async def search(s: Session, cmd: c.Search) -> Done:
    box = s.selected
    assert box is not None
    if cmd.charset is not None and "UTF8=ACCEPT" in s.enabled:
        # RFC 6855 §3: no CHARSET once UTF8=ACCEPT is enabled (conflicting labels)
        raise bad("No CHARSET after ENABLE UTF8=ACCEPT")
    if cmd.charset is not None and cmd.charset.upper() not in CHARSETS:
        raise no("Unsupported charset", "BADCHARSET", CHARSETS)
    # a first search may read every message's header: off the event loop
    uids = await asyncio.to_thread(run_search, s, box, cmd.keys)
    numbers = uids if cmd.uid else [box.msn(u) for u in uids]
    modseq = None
    if uses_key(cmd.keys, MODSEQ_KEYS):
        enable_condstore(s)
        modseq = max((box.meta[u].modseq for u in uids), default=None)
    opts = cmd.return_opts
    if opts is None and not s.rev2:
        s.send(SearchResult(tuple(numbers), modseq))
    else:
        wanted = set(opts or ()) or {"ALL"}
        if "SAVE" in wanted:
            box.saved = uids
            wanted.discard("SAVE")
            if not wanted and opts:  # RFC 5182 §2.1: SAVE alone returns no ESEARCH
                return ok("SEARCH completed")
        s.send(ESearch(cmd.tag, cmd.uid, tuple(_esearch_items(wanted, numbers, modseq))))
    return ok(f"{'UID ' if cmd.uid else ''}SEARCH completed")


def _esearch_items(
    wanted: set[str], numbers: list[int], modseq: int | None
) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    if numbers and "MIN" in wanted:
        items.append(("MIN", numbers[0]))
    if numbers and "MAX" in wanted:
        items.append(("MAX", numbers[-1]))
    if numbers and "ALL" in wanted:
        items.append(("ALL", SequenceSet.from_numbers(numbers)))
    if "COUNT" in wanted:
        items.append(("COUNT", len(numbers)))
    if modseq is not None and numbers:
        items.append(("MODSEQ", modseq))
    return items


Predicate = Callable[[Candidate], bool]

__all__ = ["Candidate", "all_match", "matches", "run_search", "search"]
