"""Connections that come back: the main IMAP session and the IDLE watcher.

:class:`MailSession` is the connection every user action uses. It connects on
first use, and when a command finds the connection gone it reconnects once,
re-selects the folder and retries, so a server restart costs one slow action
instead of an error.

:class:`IdleWatcher` keeps a second connection in IDLE on INBOX (RFC 2177),
re-issued before 29 minutes (``idle_renew``), and every ``poll_interval``
seconds leaves IDLE to poll STATUS of the other folders. It reports each
change through ``on_change(folder)`` and its state
(``connected`` / ``idle`` / ``reconnecting in N s`` / ``offline``) through
``on_state``; a dropped connection is retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aioimaplib import aioimaplib as _aio

from mailtool.client.account import Account
from mailtool.client.imap import ImapClient
from mailtool.client.imap_parse import MailboxInfo
from mailtool.client.imap_transport import ConnectionLost, ImapClientError
from mailtool.errors import AuthError

T = TypeVar("T")
#: RFC 2177 §3: servers may log out idle clients after 30 minutes
IDLE_RENEW = 29 * 60.0
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

StateCallback = Callable[[str, float | None], None]


class MailSession:
    """The main connection of an account; see the module docstring."""

    def __init__(self, account: Account, password: str, *, cafile: str | None = None) -> None:
        self.account = account
        self.password = password
        self.cafile = cafile
        self._client: ImapClient | None = None
        self._lock = asyncio.Lock()
        # one action at a time: an action may SELECT and then act on what it
        # selected, so a push-triggered refresh must not SELECT in between
        self._action = asyncio.Lock()
        self.stale = False

    async def client(self) -> ImapClient:
        async with self._lock:
            if self._client is None or not self._client.connected:
                selected = self._client.selected if self._client else None
                client = ImapClient(self.account.imap, cafile=self.cafile)
                try:
                    await client.connect(self.account.username, self.password)
                except BaseException:
                    await client.close()
                    raise
                if selected:
                    await client.select(selected)
                self._client = client
                self.stale = False
            return self._client

    @property
    def connection(self) -> ImapClient | None:
        """The current connection, if any (its ``transport.sent`` logs what it asked)."""
        return self._client

    @property
    def busy(self) -> bool:
        """True while an action runs (others calling :meth:`call` wait their turn)."""
        return self._action.locked()

    async def call(self, action: Callable[[ImapClient], Awaitable[T]], *,
                   retry: bool = True) -> T:
        """Run ``action(client)``, alone on the connection; on a dropped connection
        reconnect once and retry. ``retry=False`` for an action that must not run
        twice (an APPEND the server may have taken before the drop): the drop
        is raised instead, and the next call reconnects."""
        async with self._action:
            client = await self.client()
            try:
                return await action(client)
            except ConnectionLost:
                self.stale = True
                if not retry:
                    raise
                client = await self.client()
                return await action(client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class IdleWatcher:
    """Push for INBOX (IDLE) and polling for the rest; see the module docstring."""

    def __init__(self, account: Account, password: str, *,
                 on_change: Callable[[str], None], on_state: StateCallback,
                 folders: Callable[[], list[str]] = lambda: [], poll_interval: float = 60.0,
                 idle_renew: float = IDLE_RENEW, cafile: str | None = None,
                 backoff: tuple[float, ...] = BACKOFF) -> None:
        self.account = account
        self.password = password
        self.on_change = on_change
        self.on_state = on_state
        self.folders = folders
        self.poll_interval = poll_interval
        self.idle_renew = min(idle_renew, IDLE_RENEW)
        self.cafile = cafile
        self.backoff = backoff
        self._status: dict[str, tuple[int, int, int]] = {}
        #: the watcher's current connection (its ``transport.sent`` logs the IDLEs)
        self.client: ImapClient | None = None
        self._stopping = False

    async def run(self) -> None:
        """Forever: connect, watch, and on failure wait (backoff) and reconnect."""
        failures = 0
        while not self._stopping:
            try:
                self.on_state("connecting", None)
                client = ImapClient(self.account.imap, cafile=self.cafile)
                self.client = client
                await client.connect(self.account.username, self.password)
                if failures and self._status:
                    self.on_change("*")  # reconnected: everything may have changed
                failures = 0
                await self._watch(client)
            except AuthError:
                self.on_state("offline", None)
                return
            except (TimeoutError, ImapClientError, OSError, _aio.AioImapException):
                pass
            finally:
                if self.client is not None:
                    with contextlib.suppress(Exception):
                        await self.client.close()
                    self.client = None
            if self._stopping:
                break
            delay = self.backoff[min(failures, len(self.backoff) - 1)]
            failures += 1
            self.on_state("reconnecting", delay)
            await asyncio.sleep(delay)
        self.on_state("offline", None)

    async def stop(self) -> None:
        self._stopping = True
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    async def _watch(self, client: ImapClient) -> None:
        await client.select("INBOX", readonly=True)
        await self._poll(client)
        next_poll = time.monotonic() + self.poll_interval
        while not self._stopping:
            if not client.has("IDLE"):
                self.on_state("connected", None)
                await asyncio.sleep(self.poll_interval)
                await client.noop()
                await self._poll(client, include_inbox=True)
                continue
            self.on_state("idle", None)
            # one IDLE lasts until a change, the next STATUS poll, or the renewal
            # (RFC 2177 §3: before the server's 30-minute autologout)
            wait = min(next_poll - time.monotonic(), self.idle_renew)
            if wait > 0:
                await self._idle_once(client, wait)
            if time.monotonic() >= next_poll:
                await self._poll(client)
                next_poll = time.monotonic() + self.poll_interval

    async def _idle_once(self, client: ImapClient, timeout: float) -> bool:
        """One IDLE ... DONE; True if the server reported a change.

        The change is reported the moment it arrives, before DONE: the main
        connection starts fetching while this one leaves IDLE.
        """
        imap = client.transport.imap
        assert imap is not None
        client.transport.note("IDLE")
        idle = await imap.idle_start(timeout=timeout)
        # if the connection drops, nobody awaits the IDLE task: consume its exception
        idle.add_done_callback(lambda t: t.cancelled() or t.exception())
        changed = False
        try:
            while True:
                lines = await imap.wait_server_push(timeout=timeout + 5)
                if lines == _aio.STOP_WAIT_SERVER_PUSH:
                    break
                text = b" ".join(bytes(x) for x in lines).upper()
                if b"BYE" in text or client.transport.lost:
                    raise ConnectionLost("server closed the connection")
                # RFC 7162 §3.2.10: under QRESYNC expunges come as VANISHED
                if any(w in text for w in (b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED")):
                    changed = True
                    self.on_change("INBOX")
                    break
        finally:
            if imap.has_pending_idle() and not client.transport.lost:
                imap.idle_done()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(idle, 10)
        if client.transport.lost:
            raise ConnectionLost("connection lost during IDLE")
        return changed

    async def _poll(self, client: ImapClient, *, include_inbox: bool = False) -> None:
        """STATUS of each watched folder; report those whose counts moved."""
        for folder in self.folders():
            if folder == "INBOX" and not include_inbox:
                continue
            try:
                info: MailboxInfo = await client.status(folder)
            except ImapClientError as exc:
                if isinstance(exc, ConnectionLost):
                    raise
                continue
            key = (info.exists, info.unseen, info.uidnext)
            if self._status.get(folder, key) != key:
                self.on_change(folder)
            self._status[folder] = key
