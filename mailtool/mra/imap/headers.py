"""A process-wide cache of the header fields SEARCH asks for most.

``SEARCH SUBJECT`` / ``FROM`` / ``TO`` / ``CC`` / ``BCC`` / ``SENT*`` must look at
every message of a folder. The first search reads only each message's header
block; the decoded values of these few fields are kept (bounded LRU), so the
next search of the same folder opens no file. Keys carry the UIDVALIDITY, and a
message's header never changes, so an entry is never stale.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict

from mailtool.protocol import mime

#: the fields kept (lower case)
CACHED = ("subject", "from", "to", "cc", "bcc", "date")
#: entries kept; ~300 bytes each
MAX_ENTRIES = 200_000

Key = tuple[str, str, int, int]  # user, folder, uidvalidity, uid
Fields = dict[str, tuple[str, ...]]


_FIELD_START = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.M)
#: RFC 5322 §2.2.3 folding: a line break before white space
_FOLD = re.compile(rb"\r?\n[ \t]")
#: an unfolded header block whose every line is a field (name, colon, value), then the
#: empty line or the end: the usual shape, whose fields one C-level pass splits
_ALL_FIELDS = re.compile(rb"(?:[!-9;-~]++[ \t]*+:[^\n]*+(?:\n|\Z))*+(?:\r?\n)?")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:([^\n]*)", re.M)

#: (lower-case name, unfolded and stripped value) of each field, in order
Pairs = list[tuple[bytes, bytes]]


def split_fields(header: bytes) -> Pairs | None:
    """Every field of a header block as (lower-case name, unfolded value without the
    white space around it), when every line of the block is a field or a continuation
    line (the usual shape); None otherwise (a line without a colon, a continuation
    line first...), for the callers' general splitters.

    Both the header cache (:func:`decoded_fields`) and the sort fields
    (:mod:`.sort_fields`) take their values from it, so a first SEARCH or SORT splits
    each header once for both; for such a block each caller's general splitter gives
    the same values."""
    if b"\n " in header or b"\n\t" in header:
        header = _FOLD.sub(b" ", header)
    if _ALL_FIELDS.fullmatch(header) is None:
        return None
    return [(name.lower(), value.strip()) for name, value in _FIELD.findall(header)]


def decoded_fields(header: bytes, names: tuple[str, ...] = CACHED, pairs: Pairs | None = None
                   ) -> Fields:  # fmt: skip
    """RFC 2047-decoded, case-folded values of ``names`` in a header block (what
    SEARCH compares; RFC 9051 §6.4.4 matching is case-insensitive); ``pairs``: the
    block's :func:`split_fields`, when the caller has it.

    A plain RFC 5322 §2.2 field splitter (unfolding continuation lines), much
    cheaper than a MIME parse: only the top-level header is ever needed here.
    """
    if pairs is None:
        pairs = split_fields(header)
    if pairs is not None:
        return _decoded(pairs, names)
    wanted = set(names)
    out: dict[str, list[str]] = {}
    starts = list(_FIELD_START.finditer(header))
    for i, m in enumerate(starts):
        name = m.group(1).decode("ascii").lower()
        if name not in wanted:
            continue
        end = starts[i + 1].start() if i + 1 < len(starts) else len(header)
        raw = header[m.end() : end]
        out.setdefault(name, []).append(_value(_FOLD.sub(b" ", raw).strip()))
    return {k: tuple(v) for k, v in out.items()}


def field_values(header: bytes, name: str) -> tuple[str, ...]:
    """``decoded_fields(header, (name,)).get(name, ())``, for one field: a block of the
    usual shape is not split whole (a first SEARCH matches one field of each header)."""
    if b"\n " in header or b"\n\t" in header:
        header = _FOLD.sub(b" ", header)
    if _ALL_FIELDS.fullmatch(header) is None:
        return decoded_fields(header, (name,)).get(name, ())
    return tuple(_value(raw.strip()) for raw in _one_field(name).findall(header))


@functools.lru_cache(maxsize=16)
def _one_field(name: str) -> re.Pattern[bytes]:
    """The values of one field in an unfolded block (as :data:`_FIELD` splits them)."""
    return re.compile(rb"^" + re.escape(name.encode("ascii")) + rb"[ \t]*:([^\n]*)",
                      re.M | re.I)  # fmt: skip


def _value(raw: bytes) -> str:
    """A field's stripped value as the cache keeps it: RFC 2047 decoded, case-folded."""
    text = raw.decode("utf-8", "surrogateescape")
    if "=?" in text:  # RFC 2047 encoded words: only then the decoder's cost
        text = mime.decode_header(text)
    return text.casefold()


def _decoded(pairs: Pairs, names: tuple[str, ...]) -> Fields:
    """:func:`decoded_fields` from a block's fields already split."""
    wanted = _wanted(names)
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        key = wanted.get(name)
        if key is None:
            continue
        values = out.get(key)
        if values is None:
            out[key] = [_value(value)]
        else:
            values.append(_value(value))
    return {k: tuple(v) for k, v in out.items()}


@functools.lru_cache(maxsize=16)
def _wanted(names: tuple[str, ...]) -> dict[bytes, str]:
    return {n.encode("ascii"): n for n in names}


class HeaderCache:
    """Bounded LRU of :data:`CACHED` fields per message."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Key, Fields] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Fields | None:
        with self._lock:
            fields = self._data.get(key)
            if fields is not None:
                self._data.move_to_end(key)
            return fields

    def put(self, key: Key, fields: Fields) -> None:
        with self._lock:
            self._data[key] = fields
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


CACHE = HeaderCache()

__all__ = [
    "CACHE", "CACHED", "HeaderCache", "Pairs", "decoded_fields", "field_values", "split_fields",
]  # fmt: skip
