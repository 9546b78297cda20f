"""Telling every serve node that a user's mail changed: PostgreSQL LISTEN/NOTIFY.

The PostgreSQL twin of :mod:`mailtool.store.notify` (the SQLite side's inotify bus), with
the same subscriber contract, so :meth:`UserMail.watch` semantics hold for the PostgreSQL
mail store: a writer publishes inside its own transaction, every *other* process's
subscribers of that user are called in the bus's thread after the COMMIT::

    bus = ChangeBus(db)                          # one per process (PgMailStore owns it)
    with db.transaction() as conn:               # the writer's transaction
        ...                                      # INSERT the message, bump the MODSEQ
        bus.publish(conn, "alice@a.test", "INBOX", "append", uids=[7], modseq=42)
    # at COMMIT (only then; a rollback sends nothing) every node's bus calls
    unsubscribe = bus.subscribe("alice@a.test", callback)   # callback(Change)

Writer side: :meth:`ChangeBus.publish` is ``SELECT pg_notify('mailtool_changes', payload)``
on the writer's connection: PostgreSQL queues it with the transaction and delivers it
when (and only if) the transaction commits (``NOTIFY``, "Notes"), so a watcher never sees
a change it cannot read yet. The payload (PostgreSQL refuses 8000 bytes or more) is
compact JSON: the publishing bus's origin token, user, folder, kind, MODSEQ and the UIDs
while they fit in :data:`MAX_PAYLOAD`; when they do not, the watchers are told
``external`` and re-read ``changes_since`` themselves.

Reader side: one connection of its own per process (``db.connect(autocommit=True)``,
``LISTEN mailtool_changes``), read by one thread blocked in ``select()`` on the
connection's socket and a stop pipe, with no timeout: no polling loop. A notice names the
user whose subscribers are called with a :class:`~mailtool.store.mailstore.Change`:

* the writer's kind, folder, UIDs and MODSEQ when they were sent;
* ``Change(folder, "external", (), modseq)`` when the UIDs did not fit;
* ``Change("", "external", (), 0)`` for everyone after the listening connection was lost
  and made again (a database restart, a network cut): what was committed meanwhile was
  never announced, so every IDLE session looks for itself.

Notices this bus published itself are dropped: the mail store has already told this
process's watchers synchronously, with what changed (the SQLite side's ``data_version``
check does the same there). Other processes of the same node (SMTP workers, the CLI)
have buses of their own and are told like other nodes.

The thread starts on the first :meth:`~ChangeBus.subscribe` (processes that never watch
- SMTP workers, the CLI - never open the listening connection). After a lost connection
it reconnects by itself, waiting :data:`RECONNECT_DELAYS` between tries (a retry of a
dead database, not a look for changes: nothing is polled while connected).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import select
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mailtool.errors import StoreUnavailable
from mailtool.store.mailstore import Change
from mailtool.store.notify import SubscriberThread

if TYPE_CHECKING:
    import psycopg

    from mailtool.store.pg.db import Database

log = logging.getLogger(__name__)

#: the one channel every node listens on
CHANNEL = "mailtool_changes"
#: bytes of payload we send at most (PostgreSQL's limit: fewer than 8000 bytes)
MAX_PAYLOAD = 7900
#: seconds between attempts to listen again after the connection was lost (the last repeats)
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
#: TCP keepalive on the listening socket: a node whose database host vanished without a
#: FIN notices it in about IDLE + INTERVAL * COUNT seconds, then reconnects
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 30, 10, 3

Callback = Callable[[Change], None]

#: what subscribers are told when announcements may have been missed
EVERYTHING = Change("", "external", (), 0)


def encode(origin: str, user: str, folder: str, kind: str,
           uids: Iterable[int], modseq: int) -> str:  # fmt: skip
    """The NOTIFY payload, under :data:`MAX_PAYLOAD` bytes whatever the arguments:
    the UIDs are dropped first (kind becomes ``external``), then the folder."""
    body: dict[str, Any] = {"o": origin, "u": user, "f": folder, "k": kind, "m": modseq,
                            "i": list(uids)}  # fmt: skip
    text = json.dumps(body, separators=(",", ":"))
    if len(text.encode()) <= MAX_PAYLOAD:
        return text
    body.update(k="external", i=[])
    text = json.dumps(body, separators=(",", ":"))
    if len(text.encode()) <= MAX_PAYLOAD:
        return text
    body.update(f="", m=0)  # a user name is < 400 bytes (store/address.py): this fits
    return json.dumps(body, separators=(",", ":"))


def decode(payload: str) -> tuple[str, str, Change] | None:
    """(origin, user, change) of a payload; None when it is not one of ours."""
    try:
        body = json.loads(payload)
        change = Change(str(body["f"]), str(body["k"]),
                        tuple(int(u) for u in body["i"]), int(body["m"]))  # fmt: skip
        return str(body["o"]), str(body["u"]), change
    except (ValueError, TypeError, KeyError):
        return None


class ChangeBus(SubscriberThread):
    """Publishing (in the writer's transaction) and listening (one thread) for one process."""

    thread_name = "mailtool-pg-notify"

    def __init__(self, db: Database, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self.db = db
        self.channel = channel
        #: marks this bus's own notices, which it does not hand back to its subscribers
        self.origin = secrets.token_hex(8)
        #: True while the LISTEN is in place (tests and diagnostics read it)
        self.listening = False
        #: how many times the listening connection was made again after a loss
        self.reconnects = 0

    # ------------------------------------------------------------ writer side
    def publish(self, conn: psycopg.Connection[Any], user: str, folder: str, kind: str,
                uids: Iterable[int] = (), modseq: int = 0) -> None:  # fmt: skip
        """Announce a change to every node, sent when ``conn``'s transaction commits.

        Call it inside the writer's transaction, after the writes it announces."""
        payload = encode(self.origin, user, folder, kind, uids, modseq)
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))

    # ------------------------------------------------------------ reader side
    def subscribe(self, user: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(change)`` (in the bus's thread) after another process commits
        a change to ``user``'s mail. Returns the function that unsubscribes. The LISTEN
        is in place when this returns, unless the database is down (then everyone is
        told :data:`EVERYTHING` once it is back)."""
        return super().subscribe(user, callback)

    def _dispatch(self, user: str | None, change: Change) -> None:
        """Call the subscribers of ``user`` (None: everyone)."""
        for callback in self._callbacks(None if user is None else (user,)):
            try:
                callback(change)
            except Exception:
                log.exception("store.pg.notify subscriber failed")

    def _run(self) -> None:
        attempt = 0
        while True:
            conn = self._listen()
            self._ready.set()  # the first attempt is over, whatever its outcome
            if conn is not None:
                if attempt:  # changes committed while we were deaf were never announced
                    self.reconnects += 1
                    self._dispatch(None, EVERYTHING)
                attempt = 0
                try:
                    if self._serve(conn):
                        return
                finally:
                    self.listening = False
                    with contextlib.suppress(Exception):
                        conn.close()
                log.warning("store.pg.notify: lost the listening connection; reconnecting")
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            attempt += 1
            if select.select([self._stop_r], [], [], delay)[0]:  # stopped meanwhile
                return

    def _listen(self) -> psycopg.Connection[Any] | None:
        """A new connection with LISTEN in place; None while the database is unreachable."""
        import psycopg

        try:
            conn = self.db.connect(autocommit=True)
        except StoreUnavailable as exc:
            log.info("store.pg.notify: cannot listen yet: %s", exc)
            return None
        try:
            conn.execute(f"LISTEN {self.channel}")
        except psycopg.Error as exc:
            log.info("store.pg.notify: LISTEN failed: %s", exc)
            with contextlib.suppress(Exception):
                conn.close()
            return None
        _keepalive(conn.fileno())
        self.listening = True
        return conn

    def _serve(self, conn: psycopg.Connection[Any]) -> bool:
        """Dispatch notices until stopped (True) or the connection is lost (False)."""
        import psycopg

        fd = conn.fileno()
        while True:
            ready, _, _ = select.select([fd, self._stop_r], [], [])  # asleep until either
            if self._stop_r in ready:
                return True
            try:
                notices = list(conn.notifies(timeout=0))
            except psycopg.Error:
                return False
            if conn.closed or conn.broken:
                return False
            for notice in notices:
                decoded = decode(notice.payload)
                if decoded is None or decoded[0] == self.origin:
                    continue  # not ours, or ours: our own watchers were told already
                self._dispatch(decoded[1], decoded[2])


def _keepalive(fd: int) -> None:
    """TCP keepalive on the listening socket (a Unix socket has none to set)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for name, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE),
                                ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                                ("TCP_KEEPCNT", KEEPALIVE_COUNT)):  # fmt: skip
                if hasattr(socket, name):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass
    finally:
        sock.close()  # our duplicate only; the options stay on the socket


__all__ = ["CHANNEL", "EVERYTHING", "MAX_PAYLOAD", "ChangeBus", "decode", "encode"]
