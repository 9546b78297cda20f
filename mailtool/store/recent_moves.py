"""The new/ -> cur/ moves of claimed messages, done after the SELECT has answered.

A session that takes ``\\Recent`` (RFC 3501 §2.3.2) claims it in the index
(``first_recent_uid``), which is all \\Recent is made of here: no IMAP answer depends
on where the file is. The files then move from new/ to cur/ (the Maildir spec's
"seen by a client", what mutt shows as no longer new, and what Dovecot does at sync),
in one of the process's :data:`MOVER_THREADS` threads (users take turns, a folder at
a time), a batch at a time, so the first SELECT after 20,000 files arrived answers
before the 20,000 renames (they were half of its time).

While they run:

* each batch holds the user's lock (:attr:`UserMail.lock`) from reading its rows to
  committing their new paths: a STORE, EXPUNGE, COPY/MOVE or sync of this process
  sees every file either where it was with its row, or moved with its row updated;
  rows are read again per batch, so a file a STORE renamed or an EXPUNGE removed
  meanwhile is left alone;
* readers that open the indexed path without the lock (FETCH, SEARCH, POP3) find a
  file just moved at the one name it was moved to (:func:`moved_name`), no scan;
* another process (a STORE, EXPUNGE, the CLI, the MDA) is not under our lock: a file
  no longer at its indexed path is left where that program put it (its index update,
  or the next sync, records it), and a path is recorded only where the index still
  has the old one (:meth:`Index.moved_paths`).

Stopping (the server's shutdown) ends between batches; a crash anywhere leaves files
in new/ whose UIDs are claimed. Both are harmless: the index knows each file where it
is, and the next claim of the folder in any process (a SELECT taking new \\Recent
mail, or the first claim of the folder by a process) moves every claimed file still
in new/. The renames are made durable with one fsync of cur/ and new/ per folder
run: losing some to a crash leaves a row whose path names the cur/ file while the
file is back in new/, which the next sync adopts (``Folder._adopt_renames``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mailtool.store.maildir import info_letters

if TYPE_CHECKING:
    from mailtool.store.mailstore import UserMail

log = logging.getLogger(__name__)

#: files renamed per batch (one index transaction, the user's lock held meanwhile:
#: a STORE from the event loop waits at most one batch, ~5-10 ms)
BATCH = 250
#: threads that move claimed files, shared by every user of the process: a thousand
#: users' first SELECTs at once queue their moves, they do not start a thousand threads
MOVER_THREADS = 2

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MOVER_THREADS, thread_name_prefix="recent-moves")
        return _pool


def moved_name(path: str, base: str, flags: frozenset[str]) -> str | None:
    """Where claiming \\Recent moves a file indexed at ``path`` in new/ (None if not in new/)."""
    if not path.startswith("new/"):
        return None
    return f"cur/{base}:2,{info_letters(flags)}"


class RecentMover:
    """One user's background new/ -> cur/ moves, run by the process's shared threads
    (:data:`MOVER_THREADS`); :meth:`submit` after a claim."""

    def __init__(self, mail: UserMail) -> None:
        self._mail = mail
        self._cond = threading.Condition()
        #: folder -> UIDs below this are claimed: their files in new/ move
        self._pending: dict[str, int] = {}
        #: a turn of this user's is queued or running in the shared pool
        self._scheduled = False
        self._busy = False
        self._stopping = False
        #: folders this process has swept since it started (a crash's leftovers)
        self._swept: set[str] = set()

    def submit(self, folder: str, below: int, *, claimed: bool) -> None:
        """Move the files of ``folder``'s UIDs below ``below`` still in new/. Skipped
        when nothing was ``claimed`` now and this process already swept the folder."""
        with self._cond:
            if self._stopping or (not claimed and folder in self._swept):
                return
            self._swept.add(folder)
            self._pending[folder] = max(self._pending.get(folder, 0), below)
            if self._scheduled:
                return
            self._scheduled = True
        self._queue_turn()

    def _queue_turn(self) -> None:
        try:
            _shared_pool().submit(self._turn)
        except RuntimeError:  # the interpreter is ending: the next claim moves them
            with self._cond:
                self._scheduled = False
                self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Until no move is pending or running (tests, shutdown); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End after the batch in progress (files left in new/: see the module's doc)."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._busy, timeout)

    def _turn(self) -> None:
        """One folder's moves, then back to the end of the pool's queue if more are
        pending: users take turns a folder at a time."""
        with self._cond:
            if self._stopping or not self._pending:
                self._scheduled = False
                self._cond.notify_all()
                return
            folder, below = self._pending.popitem()
            self._busy = True
        try:
            self._move(folder, below)
        except Exception:  # a folder deleted meanwhile, a closed index: next claim retries
            log.exception("moving %s's claimed files of %r to cur/", self._mail.address, folder)
        finally:
            with self._cond:
                self._busy = False
                again = bool(self._pending) and not self._stopping
                self._scheduled = again
                self._cond.notify_all()
        if again:
            self._queue_turn()

    def _move(self, folder: str, below: int) -> None:
        mail = self._mail
        index, maildir = mail.index, mail.maildir
        uids = [row[0] for row in index.files_in_new(folder, range(1, below))]
        moved_any = False
        for start in range(0, len(uids), BATCH):
            if self._stopping:
                break
            chunk = uids[start : start + BATCH]
            with mail.lock:  # rows read again: a STORE or EXPUNGE may have come first
                fresh = index.files_in_new(folder, range(chunk[0], chunk[-1] + 1))
                renamed = maildir.set_flags_many(folder, [(p, f) for _, _, p, f in fresh])
                moved = [
                    (uid, path, rel)
                    for (uid, _, path, _), rel in zip(fresh, renamed, strict=True)
                    if rel is not None and rel != path  # None: another program moved it
                ]
                index.moved_paths(folder, moved)
            moved_any = moved_any or bool(moved)
        if moved_any:
            with contextlib.suppress(FileNotFoundError):  # the folder was deleted meanwhile
                maildir.sync_folder_dirs(folder)
