"""The main screen: folder tree | message list over reader, footer, status line.

Loading lives here; acting on messages lives in :mod:`.acting` (a mixin).
All network work runs in ``@work`` workers; they post
:mod:`mailtool.tui.messages` up to this screen, which updates its widgets.
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from mailtool.client.account import Account
from mailtool.client.cache import EnvelopeCache
from mailtool.client.imap_parse import Folder, MailboxInfo
from mailtool.client.imap_transport import ConnectionLost, ImapClientError
from mailtool.client.session import BACKOFF, IdleWatcher, MailSession
from mailtool.config import TuiConfig
from mailtool.errors import AuthError, MailtoolError
from mailtool.tui import messages as m
from mailtool.tui.actions import bindings
from mailtool.tui.folder_view import SORTS, folder_rows
from mailtool.tui.screens.acting import Acting
from mailtool.tui.screens.offline import Offline
from mailtool.tui.screens.prompt import PromptScreen
from mailtool.tui.widgets.connection import ConnectionIndicator
from mailtool.tui.widgets.folder_tree import FolderTree
from mailtool.tui.widgets.message_list import MessageList
from mailtool.tui.widgets.reader import Reader


class MainScreen(Acting, Offline, Screen[None]):
    def __init__(self, account: Account, *, remap: dict[str, str], tui: TuiConfig | None = None,
                 cafile: str | None = None) -> None:
        super().__init__()
        self.account = account
        self.remap = remap
        self.tui = tui or TuiConfig()
        self.cafile = cafile
        self.session: MailSession | None = None
        self.watcher: IdleWatcher | None = None
        self.cache = EnvelopeCache(account.name)
        self.folder = "INBOX"
        self.sort = "arrival"
        self.threaded = False
        self.search_query: str | None = None
        self.undo_stack: list = []
        self.folder_names: list[str] = []
        self.summary = ""
        self.exists = 0  # messages in the open folder, as last known
        #: set while the connection is down; cleared once the folder is resynced
        self.needs_resync = False
        # held, not queried: a key or a worker that runs while the screen is being torn
        # down (``qe`` typed fast) still finds them instead of raising NoMatches
        self._tree = FolderTree(id="folders")
        self._mlist = MessageList(id="messages")
        self._reader = Reader(id="reader")
        self._status = Static("", id="status")
        #: folders listed from the server in this session: what is new there is news
        self.loaded: set[str] = set()
        #: new UIDs per folder not notified yet
        self.unnotified: dict[str, set[int]] = {}
        #: Message-IDs arriving because of the user's own act (undo): no "New mail"
        self.not_news: set[str] = set()
        for b in bindings("main", remap):
            self._bindings.bind(b.key, b.action, b.description, show=b.show,
                                priority=b.priority)
        self.restore_view()  # [tui] sort/reverse/columns, then the last session's place

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield self._tree
            with Vertical(id="right"):
                yield self._mlist
                yield self._reader
        with Horizontal(id="statusbar"):
            yield self._status
            yield ConnectionIndicator(id="connection")
        yield Footer()

    # -- widgets -----------------------------------------------------------------------

    @property
    def folder_tree(self) -> FolderTree:
        return self._tree

    @property
    def mlist(self) -> MessageList:
        return self._mlist

    @property
    def reader(self) -> Reader:
        return self._reader

    def status(self, text: str) -> None:
        self._status.update(text)

    def _title(self) -> None:
        what = self.folder + (f"  search: {self.search_query}" if self.search_query else "")
        order = ("threads" if self.threaded else f"sort: {self.sort}") + \
            (", reversed" if self.mlist.reverse else "")
        self.mlist.border_title = f"{what}  ({order})"

    # -- start-up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        for account, (state, delay) in getattr(self.app, "connection_states", {}).items():
            self.show_connection(account, state, delay)
        self._paint_from_cache()
        self.mlist.focus()
        self.start()

    def _paint_from_cache(self) -> None:
        """Instant start-up and offline browsing: show what the cache has, marked stale."""
        folders = self.cache.folders()
        if folders:
            self.note_folders(folders)
            status = {f.name: s for f in folders if (s := self.cache.status(f.name))}
            self.folder_tree.set_folders(folders, status, self.folder)
        _validity, uids = self.cache.uids(self.folder)
        if uids:
            rows = [(u, 0) for u in reversed(uids)]
            self.mlist.set_rows(self.folder, rows, self.cache.envelopes(self.folder, uids[-200:]))
            self._mark_stale(True)
            self.status("cached list; connecting...")
        self._title()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def start(self) -> None:
        """Log in, then load folders and start push. A server out of reach is retried
        with backoff until it answers; a refused password typed at the prompt is asked
        again (a password_command's is not: it would give the same one)."""
        name = self.account.name
        prompted = False

        async def ask(question: str) -> str:
            nonlocal prompted
            prompted = True
            answer = await self.app.push_screen_wait(PromptScreen(question, password=True))
            if not answer:
                raise AuthError("no password given: press $ to log in again")
            return answer

        failures = 0
        while True:
            self.post_message(m.ConnectionState(name, "connecting"))
            session: MailSession | None = None
            try:
                password = await self.account.password(ask)
                session = MailSession(self.account, password, cafile=self.cafile)
                await session.client()
                break
            except AuthError as exc:
                if session is not None:
                    self.account.forget_password()  # refused: never tried again as is
                if prompted and session is not None:
                    prompted = False
                    self.notify(f"{exc}; try again", title="Login failed", severity="error")
                    continue
                self.post_message(m.ConnectionState(name, "offline"))
                self.status(f"offline: {exc}")
                self.notify(str(exc), title="Cannot log in", severity="error", timeout=10)
                return
            except (MailtoolError, OSError) as exc:
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                self.post_message(m.ConnectionState(name, "offline", delay))
                self.status(f"offline: {exc}")
                if failures == 1:
                    self.notify(f"{exc}; retrying until it answers", title="Cannot connect",
                                severity="error", timeout=10)
                await asyncio.sleep(delay)
        self.session = session
        self.post_message(m.ConnectionState(name, "connected"))
        await self._load_folders()
        await self._open(self.folder)
        self.watcher = IdleWatcher(
            self.account, password, cafile=self.cafile, poll_interval=self.tui.poll_interval,
            idle_renew=self.tui.idle_renew,
            on_change=lambda f: self.post_message(m.FolderChanged(f)),
            on_state=lambda s, d: self.post_message(m.ConnectionState(self.account.name, s, d)),
            folders=lambda: list(self.folder_names),
        )
        self.run_watcher()

    @work(group="watcher", exit_on_error=False)
    async def run_watcher(self) -> None:
        assert self.watcher is not None
        await self.watcher.run()

    async def _load_folders(self) -> None:
        assert self.session is not None
        folders: list[Folder] = await self.session.call(lambda c: c.list_folders())
        status: dict[str, MailboxInfo] = {}
        for f in folders:
            if f.selectable:
                try:
                    status[f.name] = await self.session.call(lambda c, n=f.name: c.status(n))
                except ImapClientError:
                    continue
        self.cache.save_folders(folders)
        for name, info in status.items():
            self.cache.save_status(name, info)
        self.post_message(m.FoldersLoaded(folders, status))

    async def _open(self, folder: str, *, keep_cursor: bool = False) -> None:
        """Select ``folder`` and compute its rows (UIDs only; envelopes on demand)."""
        assert self.session is not None
        self.status(f"opening {folder}...")

        async def load(client):
            before = self.cache.status(folder)
            validity, known = self.cache.uids(folder)
            # RFC 7162 §3.2.5: QRESYNC brings the cached folder up to date in one SELECT
            info, changes = await client.resync(
                folder, validity, before.highestmodseq if before else 0, known)
            resynced = changes.complete
            if resynced:
                self.cache.forget(folder, changes.vanished)
                self.cache.set_flags(folder, changes.flags)
            # RFC 7162 §3.1.4: with CONDSTORE, fetch only the flags changed since last time
            elif (before and before.highestmodseq and info.highestmodseq
                    and before.uidvalidity == info.uidvalidity and client.has("CONDSTORE")):
                if info.highestmodseq != before.highestmodseq:
                    changed = await client.fetch_flags("1:*", changed_since=before.highestmodseq)
                    self.cache.set_flags(folder, changed)
                resynced = True
            rows, uids = await folder_rows(client, self.cache, folder, sort=self.sort,
                                           threaded=self.threaded, query=self.search_query)
            if self.search_query is not None:
                # the rows are the hits, but the cache keeps the whole folder: it is
                # what refresh_folder tells new mail by, matching or not
                uids = await client.search("ALL")
            self.cache.save_uids(folder, info.uidvalidity, uids, info.highestmodseq)
            cached = self.cache.envelopes(folder, [u for u, _d in rows[:500]])
            if cached and not resynced:  # flags may have changed since the cache was written
                flags = await client.fetch_flags(sorted(cached))
                for uid, env in cached.items():
                    if uid in flags:
                        env.flags = flags[uid]
            return rows, cached, info

        rows, cached, info = await self.session.call(load)
        self.post_message(m.FolderLoaded(folder, rows, cached))
        self.exists = info.exists
        self.loaded.add(folder)
        self.summarise(len(rows))

    def summarise(self, hits: int) -> None:
        """The status line's "FOLDER: N messages": said again whenever N changes here, not
        only when the folder is reopened (it kept the count from before a delete)."""
        found = f", {hits} found" if self.search_query else ""
        self.summary = f"{self.folder}: {self.exists} messages{found}"
        self.status(self.summary)

    # -- messages from workers -----------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly is reported, never a crash of the app."""
        if event.state == WorkerState.ERROR and self.is_attached:
            error = event.worker.error
            if not isinstance(error, NoMatches):  # the screen was closing
                self.notify(f"{event.worker.name}: {error}", title="Error", severity="error")

    @on(m.FoldersLoaded)
    def _folders_loaded(self, event: m.FoldersLoaded) -> None:
        self.folder_tree.set_folders(event.folders, event.status, self.folder)
        self.folder_names = self.folder_tree.names()
        self.note_folders(event.folders)

    @on(m.FolderLoaded)
    def _folder_loaded(self, event: m.FolderLoaded) -> None:
        if event.folder != self.folder:
            return
        self.mlist.set_rows(event.folder, event.rows, event.envelopes)
        if not event.stale:
            self.needs_resync = False
        self._mark_stale(event.stale or self.needs_resync)
        self._title()

    def _mark_stale(self, stale: bool) -> None:
        """The list shows what the cache had while the server is out of reach."""
        self.mlist.set_class(stale, "stale")
        self.mlist.border_subtitle = "stale" if stale else ""

    @on(m.EnvelopesLoaded)
    def _envelopes_loaded(self, event: m.EnvelopesLoaded) -> None:
        if event.folder == self.mlist.folder:
            self.mlist.add_envelopes(event.envelopes)

    @on(m.MessageLoaded)
    def _message_loaded(self, event: m.MessageLoaded) -> None:
        if event.folder == self.folder and event.uid == self.mlist.current_uid:
            self.reader.show(event.raw, source=(event.folder, event.uid), cached=event.cached)
            self.mlist.update_flags(event.uid, tuple({*self._flags(event.uid), "\\Seen"}))

    @on(m.ConnectionState)
    def _connection_state(self, event: m.ConnectionState) -> None:
        if event.account == self.account.name:
            if event.state in ("reconnecting", "offline"):
                self.needs_resync = True
                self._mark_stale(True)
            elif event.state in ("idle", "connected") and not self.needs_resync:
                self._mark_stale(False)
        connection_changed = getattr(self.app, "connection_changed", None)
        if connection_changed is not None:  # every account's screen shows every account
            connection_changed(event.account, event.state, event.delay)
        else:
            self.show_connection(event.account, event.state, event.delay)

    def show_connection(self, account: str, state: str, delay: float | None) -> None:
        try:
            self.query_one(ConnectionIndicator).set_state(account, state, delay)
        except NoMatches:  # not composed yet, or closing
            pass

    @on(m.FolderChanged)
    def _folder_changed(self, event: m.FolderChanged) -> None:
        if event.folder in (self.folder, "*"):
            self.refresh_folder(notify_new=True)
        self.refresh_status(event.folder)

    @on(MessageList.NeedEnvelopes)
    def _need_envelopes(self, event: MessageList.NeedEnvelopes) -> None:
        self.fetch_envelopes(self.mlist.folder, event.uids)

    @on(MessageList.Opened)
    def _opened(self, event: MessageList.Opened) -> None:
        self.load_message(event.uid)

    @on(FolderTree.Chosen)
    def _folder_chosen(self, event: FolderTree.Chosen) -> None:
        self.open_folder(event.folder)

    # -- workers -----------------------------------------------------------------------

    def _flags(self, uid: int) -> tuple[str, ...]:
        env = self.mlist.envelopes.get(uid)
        return env.flags if env else ()

    @work(group="envelopes", exit_on_error=False)
    async def fetch_envelopes(self, folder: str, uids: list[int]) -> None:
        if self.session is None:
            return
        cached = self.cache.envelopes(folder, uids)
        if cached:
            self.post_message(m.EnvelopesLoaded(folder, list(cached.values())))
        missing = [u for u in uids if u not in cached]
        if not missing or folder != self.folder:
            return
        try:
            envs = await self.session.call(lambda c: c.fetch_envelopes(missing))
        except ImapClientError as exc:
            self.status(f"cannot fetch headers: {exc}")
            return
        self.cache.save_envelopes(folder, envs)
        self.post_message(m.EnvelopesLoaded(folder, envs))

    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_folder(self, folder: str) -> None:
        self.folder = folder
        self.search_query = None
        self.reader.clear()
        _v, uids = self.cache.uids(folder)
        self.mlist.set_rows(folder, [(u, 0) for u in reversed(uids)], {}, keep_cursor=False)
        self._title()
        if self.session is None:
            return
        try:
            await self._open(folder)
        except ImapClientError as exc:
            self.status(f"cannot open {folder}: {exc}")

    @work(exclusive=True, group="open", exit_on_error=False)
    async def refresh_folder(self, notify_new: bool = False) -> None:
        if self.session is None:
            return
        # the folder's UIDs as last listed (not the rows: a search shows only some);
        # an empty folder's first message is news too, a first listing is not
        before = set(self.cache.uids(self.folder)[1])
        known = self.folder in self.loaded
        try:
            await self._open(self.folder, keep_cursor=True)
        except ImapClientError as exc:
            self.status(f"refresh failed: {exc}")
            return
        if notify_new:
            _v, uids = self.cache.uids(self.folder)
            # kept across refreshes: a newer push cancels this worker, never the news
            pending = self.unnotified.setdefault(self.folder, set())
            if known:
                pending |= {u for u in uids if u not in before}
            pending &= set(uids)
            new = sorted(pending)
            if new:
                envs = await self.session.call(lambda c: c.fetch_envelopes(new[-5:]))
                pending.clear()
                # into the list too: a screen not shown (another account's) draws nothing,
                # so it would never ask for these headers itself
                self.cache.save_envelopes(self.folder, envs)
                self.post_message(m.EnvelopesLoaded(self.folder, envs))
                for env in envs:
                    if env.message_id in self.not_news:
                        self.not_news.discard(env.message_id)
                        continue
                    who = env.from_[0] if env.from_ else None
                    self.notify(f"{(who.name or who.email) if who else ''}: {env.subject}",
                                title=f"New mail in {self.folder} ({self.account.name})")

    @work(group="status", exit_on_error=False)
    async def refresh_status(self, folder: str) -> None:
        if self.session is None:
            return
        names = list(self.folder_names) if folder == "*" else [folder]
        for name in names:
            try:
                info = await self.session.call(lambda c, n=name: c.status(n))
            except ImapClientError:
                continue
            self.cache.save_status(name, info)
            try:
                self.folder_tree.set_status(name, info)
            except NoMatches:  # the screen is closing while we were waiting
                return

    @work(exclusive=True, group="message", exit_on_error=False)
    async def load_message(self, uid: int) -> None:
        folder = self.folder
        if self.session is None:  # never connected: the body cache may have it
            self.show_cached_body(folder, uid, "offline")
            return
        self.status("loading message...")
        try:
            raw = await self.session.call(lambda c: c.fetch_message(uid))
        except (ConnectionLost, AuthError, OSError) as exc:
            self.show_cached_body(folder, uid, f"cannot load message: {exc}")
            return
        except ImapClientError as exc:
            self.status(f"cannot load message: {exc}")
            return
        self.keep_body(folder, uid, raw)
        self.post_message(m.MessageLoaded(folder, uid, raw))
        self.status(self.summary)
        self.refresh_status(folder)

    # -- moving around -------------------------------------------------------------------

    def action_next(self) -> None:
        self.mlist.move(1)

    def action_prev(self) -> None:
        self.mlist.move(-1)

    def action_first(self) -> None:
        self.mlist.go(0)

    def action_last(self) -> None:
        self.mlist.go(len(self.mlist.rows) - 1)

    def action_page_down(self) -> None:
        self.mlist.page(1)

    def action_page_up(self) -> None:
        self.mlist.page(-1)

    def action_focus_next(self) -> None:
        self.focus_next()

    def action_pager(self) -> None:
        """Space, as in mutt's pager: open the message, page through it, and at its
        end go on to the next unread one."""
        if self.reader.message is None or self.reader.source != (
                self.folder, self.mlist.current_uid):
            self.action_open()
        elif not self.reader.at_end:
            self.reader.scroll_page_down(animate=False)
        else:
            self._unread(1)

    def action_next_unread(self) -> None:
        self._unread(1)

    def action_prev_unread(self) -> None:
        self._unread(-1)

    def _unread(self, direction: int) -> None:
        index = self.mlist.find(direction, lambda env: not env.seen)
        if index is None:
            self.notify("no more unread messages" if direction > 0 else
                        "no unread message before this one")
            return
        self.mlist.go(index)
        self.action_open()

    def action_full_screen(self) -> None:
        reading = not self.has_class("reading")
        self.set_class(reading, "reading")
        (self.reader if reading else self.mlist).focus()

    def action_sidebar(self) -> None:
        self.set_class(not self.has_class("no-sidebar"), "no-sidebar")

    def action_open(self) -> None:
        if self.focused is self.folder_tree and self.folder_tree.current:
            self.open_folder(self.folder_tree.current)
            self.mlist.focus()
            return
        uid = self.mlist.current_uid
        if uid is not None:
            self.load_message(uid)

    def action_refresh(self) -> None:
        if self.session is None:  # never logged in (password refused or cancelled)
            self.start()
            return
        self.refresh_folder()
        self.refresh_status("*")

    def action_sort(self) -> None:
        self.threaded = False
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_folder()

    def action_thread(self) -> None:
        self.threaded = not self.threaded
        self.refresh_folder()

    def action_search(self) -> None:
        def done(query: str | None) -> None:
            if query is not None:
                self.search_query = query.strip() or None
                self.refresh_folder()

        self.app.push_screen(PromptScreen("Search (from:x subject:y text, or =IMAP):",
                                          self.search_query or ""), done)

    def action_clear_search(self) -> None:
        if self.search_query:
            self.search_query = None
            self.refresh_folder()

    def action_switch_account(self) -> None:
        switch = getattr(self.app, "action_switch_account", None)
        if switch is not None:
            switch()

    def action_toggle_headers(self) -> None:
        self.reader.toggle_headers()

    def action_toggle_quotes(self) -> None:
        self.reader.toggle_quotes()

    def action_raw(self) -> None:
        self.reader.toggle_raw()

    async def on_unmount(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        if self.session is not None:
            await self.session.close()
        self.remember_view()
        self.cache.close()
