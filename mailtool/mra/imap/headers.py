"""A process-wide cache of the header fields SEARCH asks for most.

``SEARCH SUBJECT`` / ``FROM`` / ``TO`` / ``CC`` / ``BCC`` / ``SENT*`` must look at
every message of a folder. The first search reads only each message's header
block; the decoded values of these few fields are kept (bounded LRU), so the
next search of the same folder opens no file. Keys carry the UIDVALIDITY, and a
message's header never changes, so an entry is never stale.
"""

from __future__ import annotations

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


def decoded_fields(header: bytes, names: tuple[str, ...] = CACHED) -> Fields:
    """RFC 2047-decoded, case-folded values of ``names`` in a header block (what
    SEARCH compares; RFC 9051 §6.4.4 matching is case-insensitive).

    A plain RFC 5322 §2.2 field splitter (unfolding continuation lines), much
    cheaper than a MIME parse: only the top-level header is ever needed here.
    """
    wanted = set(names)
    out: dict[str, list[str]] = {}
    starts = list(_FIELD_START.finditer(header))
    for i, m in enumerate(starts):
        name = m.group(1).decode("ascii").lower()
        if name not in wanted:
            continue
        end = starts[i + 1].start() if i + 1 < len(starts) else len(header)
        raw = header[m.end() : end]
        value = re.sub(rb"\r?\n[ \t]", b" ", raw).strip()
        text = value.decode("utf-8", "surrogateescape")
        if "=?" in text:  # RFC 2047 encoded words: only then the decoder's cost
            text = mime.decode_header(text)
        out.setdefault(name, []).append(text.casefold())
    return {k: tuple(v) for k, v in out.items()}


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

__all__ = ["CACHE", "CACHED", "HeaderCache", "decoded_fields"]
