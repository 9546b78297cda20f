"""The index's header caches, filled after the SEARCH that read the headers has answered.

A first ``SEARCH SUBJECT`` of never-seen messages must read every header block, but it
needs one field of each. Making the index's rows from a block (every cached field
decoded, SORT's fields parsed, two inserts) cost about twice the read itself: 1.45 s of
a first SEARCH on 20,000 dropped files where the read and the match took 0.45 s. So the
SEARCH matches the blocks it read (:func:`header_matches`, the same test the index's
scan makes) and answers; the rows are made from those same blocks (no second read) by
this module's one thread per process, and stored.

Named bounds: at most :data:`PENDING_BYTES` of header blocks wait in the whole process
(a caller that cannot reserve room makes its rows inline, as before); one thread, so
the work of many users queues instead of taking every core. Anything that reads the
caches waits first for the fills pending on its folder (:meth:`Filler.settle`), so no
command sees a half-filled cache it would take for a whole one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mailtool.mra.imap.headers import field_values

log = logging.getLogger(__name__)

#: bytes of header blocks waiting to be made into rows, in the whole process
PENDING_BYTES = 64 * 1024 * 1024

#: (user, folder): fills of one folder are waited for together
Key = tuple[str, str]


def header_matches(header: bytes | None, field: str, needle: str) -> bool:
    """Whether ``field`` of a header block contains ``needle`` (already case-folded), as
    the index's ``header_search`` would answer once the block's row is stored: the
    decoded, case-folded values joined by newlines, a message without the field never
    matching (not even the empty needle), a needle with a newline (which only the joins
    hold) or a message gone (None) matching nothing."""
    if header is None or "\n" in needle:
        return False
    values = field_values(header, field.lower())
    return bool(values) and needle in "\n".join(values)


class Filler:
    """One background thread that runs row-making jobs, bounded in the bytes they hold."""

    def __init__(self, limit: int = PENDING_BYTES) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._pending = 0
        self._jobs: dict[Key, list[Future[None]]] = {}
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._pending

    def reserve(self, size: int) -> bool:
        """Hold room for ``size`` bytes of blocks a later :meth:`start` will be given;
        False (nothing held: the caller does the work itself) past the bound."""
        with self._lock:
            if self._pending + size > self.limit:
                return False
            self._pending += size
            return True

    def release(self, size: int) -> None:
        """Give back room :meth:`reserve` held for a job that will not start."""
        with self._lock:
            self._pending -= size

    def start(self, key: Key, size: int, job: Callable[[], None]) -> None:
        """Run ``job`` in the background; the ``size`` bytes reserved for it are given
        back when it ends. The interpreter ending: nothing runs (the next command that
        needs the rows makes them)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="header-fill")
            try:
                future = self._pool.submit(self._run, job, size)
            except RuntimeError:
                self._pending -= size
                return
            self._jobs.setdefault(key, []).append(future)
        future.add_done_callback(lambda f: self._forget(key, f))

    def _run(self, job: Callable[[], None], size: int) -> None:
        try:
            job()
        except Exception:  # the rows are made again by the next command that needs them
            log.exception("filling the header cache failed")
        finally:
            self.release(size)

    def _forget(self, key: Key, future: Future[None]) -> None:
        with self._lock:
            jobs = self._jobs.get(key)
            if jobs is not None and future in jobs:
                jobs.remove(future)
                if not jobs:
                    del self._jobs[key]

    def settle(self, key: Key) -> None:
        """Wait for the fills of ``key`` queued so far."""
        with self._lock:
            jobs = list(self._jobs.get(key, ()))
        for future in jobs:
            future.result()


#: the process's filler
FILLER = Filler()

__all__ = ["FILLER", "PENDING_BYTES", "Filler", "header_matches"]
