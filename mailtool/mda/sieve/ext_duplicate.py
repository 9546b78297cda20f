"""duplicate (RFC 7352): has this message (or this id) been seen recently?

The tracker is the interpreter's service :data:`DUPLICATE_LOG` (the MDA
passes the user's :class:`~mailtool.store.sieve_state.DuplicateLog`,
``duplicate.json`` in the user's Sieve directory). Without one (``sieve
test``, unit tests) nothing was ever seen. The id is recorded only when the
whole run succeeds (§3: a failed script leaves no trace), through the
interpreter's ``on_success`` hooks.

Defaults follow Pigeonhole so migrated scripts behave the same: 12 hours
when ``:seconds`` is left out, at most 2 days.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from mailtool.mda.sieve.spec import NUMBER, STRING, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: the interpreter's ``services`` key of the tracker
DUPLICATE_LOG = "duplicate_log"
DEFAULT_SECONDS = 12 * 3600
MAX_SECONDS = 2 * 86400


class DuplicateTracker(Protocol):
    def seen(self, key: str, now: float) -> bool: ...

    def record(self, key: str, expiry: float, now: float) -> None: ...


def tracking_key(handle: str, unique_id: str) -> str:
    """One key per (handle, id): the handle separates independent uses (§3.2)."""
    return hashlib.sha256(f"{handle}\0{unique_id}".encode()).hexdigest()[:40]


def _duplicate(interp: Interpreter, node: Node) -> bool:
    tagged = node.tagged
    if "uniqueid" in tagged:
        unique_id = interp.expand(tagged["uniqueid"])
    else:
        # §3.1: by default the Message-ID; with :header that field (first occurrence)
        name = interp.expand(tagged.get("header", "Message-ID"))
        values = interp.message.raw_headers(name)
        if not values:
            return False  # no id: the message cannot be a known duplicate; nothing recorded
        unique_id = " ".join(values[0].split())
    handle = interp.expand(tagged.get("handle", ""))
    seconds = min(int(tagged.get("seconds", DEFAULT_SECONDS)), MAX_SECONDS)
    key = tracking_key(handle, unique_id)
    results: dict[str, bool] = interp.services.setdefault("duplicate.results", {})
    if key in results:
        return results[key]  # the same id tested twice in one run: the same answer
    tracker: DuplicateTracker | None = interp.services.get(DUPLICATE_LOG)
    now = interp.now
    seen = tracker is not None and tracker.seen(key, now)
    results[key] = seen
    # §3.3: without :last the period runs from the first sighting, with :last from the latest
    if tracker is not None and (not seen or tagged.get("last")):
        interp.on_success.append(lambda: tracker.record(key, now + seconds, now))
    return seen


register(Spec("duplicate", "test", extension="duplicate",
              tags={"handle": STRING, "header": STRING, "uniqueid": STRING, "seconds": NUMBER,
                    "last": None},
              groups={"id": ("header", "uniqueid")}, run=_duplicate))  # fmt: skip
