"""Waking every node's queue runner: ``LISTEN mailtool_queue`` in a thread of its own.

Writers send ``pg_notify('mailtool_queue', '')`` in the transaction that made work
(:meth:`~mailtool.store.pg.queue.PgQueue.enqueue` of an unclaimed entry, ``mailtool
queue flush``): PostgreSQL delivers it at COMMIT, to every listening connection of every
node. One connection per runner listens, read by one thread asleep in ``select()`` on its
socket and a stop pipe: no polling loop. After the connection was lost (a database
restart) the thread listens again by itself and calls back once, since wake-ups sent
meanwhile were never heard.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailtool.errors import StoreUnavailable

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

log = logging.getLogger(__name__)

#: seconds between attempts to listen again while the database is away (the last repeats)
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)


class WakeListener:
    """Calls ``callback()`` whenever a notice arrives on ``channel``."""

    def __init__(self, db: Database, channel: str, callback: Callable[[], None]) -> None:
        self.db = db
        self.channel = channel
        self.callback = callback
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="mailtool-queue-wake",
                                        daemon=True)  # fmt: skip
        #: set once the first LISTEN is in place (or failed): tests wait for it
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self.ready.wait(5.0)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        self._thread.join(5.0)
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _call(self) -> None:
        try:
            self.callback()
        except Exception:
            log.exception("store.pg.queue_wake callback failed")

    def _loop(self) -> None:
        lost = 0
        while True:
            conn = self._connect()
            self.ready.set()
            if conn is not None:
                if lost:
                    self._call()  # wake-ups sent while we were deaf were lost
                lost = 0
                try:
                    if self._listen(conn):
                        return
                finally:
                    with contextlib.suppress(Exception):
                        conn.close()
                log.warning("store.pg.queue_wake: lost the connection; listening again")
            delay = RETRY_DELAYS[min(lost, len(RETRY_DELAYS) - 1)]
            lost += 1
            if select.select([self._stop_r], [], [], delay)[0]:
                return

    def _connect(self) -> psycopg.Connection[Any] | None:
        import psycopg

        try:
            conn = self.db.connect(autocommit=True)
        except StoreUnavailable:
            return None
        try:
            conn.execute(f"LISTEN {self.channel}")
        except psycopg.Error:
            with contextlib.suppress(Exception):
                conn.close()
            return None
        return conn

    def _listen(self, conn: psycopg.Connection[Any]) -> bool:
        """Call back for every batch of notices until stopped (True) or the connection
        breaks (False)."""
        import psycopg

        while True:
            ready = select.select([conn.fileno(), self._stop_r], [], [])[0]
            if self._stop_r in ready:
                return True
            try:
                notices = list(conn.notifies(timeout=0))
            except psycopg.Error:
                return False
            if conn.broken or conn.closed:
                return False
            if notices:
                self._call()
