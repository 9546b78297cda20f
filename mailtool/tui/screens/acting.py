"""Acting on messages and folders: flags, move/copy/delete/archive with undo,
compose/reply/forward, parts, folder management, search across folders.

A mixin of :class:`~mailtool.tui.screens.main.MainScreen`; every network step
runs in a worker. The list changes only after the server said OK, and each
action is what an independent IMAP client sees afterwards (tests check that
with imaplib).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from mailtool.client.compose import Draft, draft_from_message, forward, reply
from mailtool.client.imap_transport import ImapClientError
from mailtool.client.reading import parse, parts, save_part
from mailtool.tui.folder_view import quote, search_program
from mailtool.tui.screens.arrange import Arranging
from mailtool.tui.screens.compose import ComposeScreen
from mailtool.tui.screens.links import MessageTools
from mailtool.tui.screens.lists import ListActions
from mailtool.tui.screens.opener import open_part
from mailtool.tui.screens.picker import PickerScreen
from mailtool.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from mailtool.tui.screens.main import MainScreen as _Base
else:
    _Base = object


@dataclass
class Undo:
    """How to take back a move: where the messages went and their new UIDs."""

    description: str
    source: str
    dest: str
    new_uids: list[int]
    message_ids: list[str]


class Acting(MessageTools, ListActions, Arranging, _Base):
    # -- marking ----------------------------------------------------------------------

    def action_mark(self) -> None:
        self.mlist.toggle_mark()
        self.mlist.move(1)

    def action_mark_range(self) -> None:
        self.mlist.mark_range()

    def action_clear_marks(self) -> None:
        self.mlist.marked.clear()
        self.mlist.refresh()

    # -- flags ------------------------------------------------------------------------

    def action_flag(self) -> None:
        uids = self.mlist.selection()
        if uids:
            add = not all("\\Flagged" in self._flags(u) for u in uids)
            self.set_flag(uids, "\\Flagged", add)

    def action_toggle_read(self) -> None:
        uids = self.mlist.selection()
        if uids:
            add = not all("\\Seen" in self._flags(u) for u in uids)
            self.set_flag(uids, "\\Seen", add)

    @work(group="act", exit_on_error=False)
    async def set_flag(self, uids: list[int], flag: str, add: bool,
                       folder: str | None = None) -> None:
        folder = folder or self.folder
        try:
            await self.session.call(lambda c: self._in(c, folder, c.store(uids, [flag], add=add)))
        except ImapClientError as exc:
            self.notify(f"not changed: {exc}", severity="error")
            return
        if folder != self.mlist.folder:  # the user went elsewhere meanwhile
            self.refresh_status(folder)
            return
        for uid in uids:
            flags = set(self._flags(uid))
            flags = flags | {flag} if add else flags - {flag}
            self.mlist.update_flags(uid, tuple(sorted(flags)))
        self.cache.set_flags(folder, {u: self._flags(u) for u in uids})
        self.refresh_status(folder)

    async def _in(self, client, folder: str, coro):
        """Await ``coro`` with ``folder`` selected: the UIDs acted on are ``folder``'s,
        and a reconnect or an interrupted refresh may have left no folder selected."""
        if client.selected != folder:
            try:
                await client.select(folder)
            except BaseException:
                coro.close()
                raise
        return await coro

    # -- moving -----------------------------------------------------------------------

    def action_delete(self) -> None:
        self.move_to_special("\\Trash", "deleted")

    def action_archive(self) -> None:
        self.move_to_special("\\Archive", "archived")

    def action_move(self) -> None:
        self._pick_folder("Move to:", lambda dest: self.move_messages(
            self.mlist.selection(), dest, f"moved to {dest}"))

    def action_copy(self) -> None:
        self._pick_folder("Copy to:", lambda dest: self.copy_messages(
            self.mlist.selection(), dest))

    def _pick_folder(self, title: str, then) -> None:
        choices = [(n, n) for n in self.folder_tree.names() if n != self.folder]

        def done(dest: str | None) -> None:
            if dest:
                then(dest)

        self.app.push_screen(PickerScreen(title, choices), done)

    @work(group="act", exit_on_error=False)
    async def move_to_special(self, use: str, verb: str) -> None:
        uids = self.mlist.selection()
        if not uids:
            return
        try:
            dest = await self.session.call(lambda c: c.special_folder(use))
        except ImapClientError as exc:
            self.notify(f"no {use} folder: {exc}", severity="error")
            return
        if dest == self.folder and use == "\\Trash":
            await self._expunge(uids)
            return
        await self._move(uids, dest, verb)

    @work(group="act", exit_on_error=False)
    async def move_messages(self, uids: list[int], dest: str, verb: str) -> None:
        await self._move(uids, dest, verb)

    async def _move(self, uids: list[int], dest: str, verb: str) -> None:
        folder = self.folder
        ids = [self.mlist.envelopes[u].message_id for u in uids if u in self.mlist.envelopes]
        try:
            mapping = await self.session.call(
                lambda c: self._in(c, folder, c.move(uids, dest)))
        except ImapClientError as exc:
            self.notify(f"not {verb}: {exc}", severity="error")
            return
        self.undo_stack.append(Undo(verb, folder, dest, sorted(mapping.values()), ids))
        self._removed(uids)
        self.reader.clear()
        self.notify(f"{len(uids)} message(s) {verb} (u to undo)")
        self.refresh_status(folder)
        self.refresh_status(dest)

    def _removed(self, uids: list[int]) -> None:
        """Gone from the open folder: out of the list, and out of the status line's count."""
        self.mlist.remove(set(uids))
        self.exists = max(self.exists - len(uids), 0)
        self.summarise(len(self.mlist.rows))

    async def _expunge(self, uids: list[int]) -> None:
        folder = self.folder
        try:
            await self.session.call(lambda c: self._in(c, folder, c.expunge(uids)))
        except ImapClientError as exc:
            self.notify(f"not deleted: {exc}", severity="error")
            return
        self._removed(uids)
        self.notify(f"{len(uids)} message(s) deleted for good")

    @work(group="act", exit_on_error=False)
    async def copy_messages(self, uids: list[int], dest: str) -> None:
        folder = self.folder
        try:
            await self.session.call(lambda c: self._in(c, folder, c.copy(uids, dest)))
        except ImapClientError as exc:
            self.notify(f"not copied: {exc}", severity="error")
            return
        self.notify(f"{len(uids)} message(s) copied to {dest}")
        self.refresh_status(dest)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo")
            return
        self.undo(self.undo_stack.pop())

    @work(group="act", exit_on_error=False)
    async def undo(self, entry: Undo) -> None:
        async def back(client):
            await client.select(entry.dest)
            uids = entry.new_uids
            if not uids:  # no COPYUID: find them by Message-ID
                for mid in entry.message_ids:
                    uids += await client.search(f"HEADER Message-ID {quote(mid)}")
            if uids:
                await client.move(uids, entry.source)
            await client.select(self.folder)
            return len(uids)

        # they come back with new UIDs: the push that reports them is not news
        self.not_news.update(entry.message_ids)
        try:
            n = await self.session.call(back)
        except ImapClientError as exc:
            self.not_news.difference_update(entry.message_ids)
            self.notify(f"cannot undo: {exc}", severity="error")
            return
        self.notify(f"undone: {n} message(s) back in {entry.source}")
        self.refresh_folder()
        self.refresh_status(entry.dest)

    # -- writing ----------------------------------------------------------------------

    def _open_composer(self, draft: Draft, answering: tuple[str, int] | None = None) -> None:
        def done(result: object) -> None:
            if result is not None:
                if answering is not None:  # RFC 9051 §2.3.2: \Answered once the reply is sent
                    self.set_flag([answering[1]], "\\Answered", True, folder=answering[0])
                self.refresh_status("*")
        self.app.push_screen(ComposeScreen(draft, self.account, self.session, self.cache,
                                           self.remap), done)

    def action_compose(self) -> None:
        self._open_composer(Draft(from_=self.account.from_header))

    def _current(self):
        msg = self.reader.message
        if msg is None:
            self.notify("open a message first (enter)")
        return msg

    def _identity(self, msg) -> str:
        """Answer as the identity the message was sent to (any configured account)."""
        import email.utils

        values = [str(v) for h in ("To", "Cc", "Delivered-To") for v in (msg.get_all(h) or [])]
        to = {a.lower() for _n, a in email.utils.getaddresses(values)}
        for account in [self.account, *getattr(self.app, "accounts", {}).values()]:
            if account.email.lower() in to:
                return account.from_header
        return self.account.from_header

    def action_reply(self) -> None:
        if (msg := self._current()) is not None:
            self._open_composer(reply(msg, self._identity(msg)), self.reader.source)

    def action_reply_all(self) -> None:
        if (msg := self._current()) is not None:
            me = self._identity(msg)
            mine = tuple(a.email for a in getattr(self.app, "accounts", {}).values())
            self._open_composer(reply(msg, me, reply_all=True, my_addresses=mine),
                                self.reader.source)

    def action_forward(self) -> None:
        if (msg := self._current()) is not None:
            self._open_composer(forward(msg, self.account.from_header))

    def action_forward_attached(self) -> None:
        if (msg := self._current()) is not None:
            self._open_composer(forward(msg, self.account.from_header, attach=True,
                                  raw=self.reader.raw))

    def action_edit_draft(self) -> None:
        if (msg := self._current()) is not None:
            self._open_composer(draft_from_message(msg))

    # -- parts ------------------------------------------------------------------------

    def _pick_part(self, title: str, then) -> None:
        msg = self._current()
        if msg is None:
            return
        choices = [(f"{p.content_type}  {p.filename}  {p.size} bytes", p.index)
                   for p in parts(msg)]

        def done(index: int | None) -> None:
            if index is None:
                return
            try:
                then(msg, index)
            except OSError as exc:
                self.notify(str(exc), title=title.rstrip(":"), severity="error")

        self.app.push_screen(PickerScreen(title, choices), done)

    def action_parts(self) -> None:
        def save(msg, index: int) -> None:
            directory = Path.home() / "Downloads"
            directory.mkdir(parents=True, exist_ok=True)
            self.notify(f"saved {save_part(msg, index, directory)}")

        self._pick_part("Save part:", save)

    def action_open_part(self) -> None:
        def open_it(msg, index: int) -> None:
            path = open_part(msg, index, self.tui.open_command)
            self.notify(f"opened {path.name}")

        self._pick_part("Open part:", open_it)

    # -- folders ----------------------------------------------------------------------

    def action_create_folder(self) -> None:
        self._ask("New folder name:", "", lambda name: self.folder_op("create", name))

    def action_rename_folder(self) -> None:
        old = self.folder_tree.current or self.folder
        if old.upper() == "INBOX":
            # RFC 9051 §6.3.6: RENAME INBOX moves every message into a new folder
            self.notify("INBOX cannot be renamed: the server would move all its mail into "
                        "a new folder; create a folder and move messages instead",
                        severity="warning")
            return
        self._ask(f"Rename {old} to:", old, lambda new: self.folder_op("rename", old, new))

    def action_delete_folder(self) -> None:
        name = self.folder_tree.current or self.folder
        self._ask(f"Delete folder {name} and its messages? Type its name to confirm:", "",
                  lambda typed: self.folder_op("delete", name) if typed == name else None)

    def _ask(self, question: str, value: str, then) -> None:
        self.app.push_screen(PromptScreen(question, value),
                             lambda answer: then(answer) if answer else None)

    @work(group="act", exit_on_error=False)
    async def folder_op(self, op: str, name: str, new: str = "") -> None:
        try:
            if op == "create":
                await self.session.call(lambda c: c.create_folder(name))
            elif op == "rename":
                await self.session.call(lambda c: c.rename_folder(name, new))
            else:
                await self.session.call(lambda c: c.delete_folder(name))
                if self.folder == name:
                    self.open_folder("INBOX")
        except ImapClientError as exc:
            self.notify(f"{op} failed: {exc}", severity="error")
            return
        self.notify(f"folder {name} {op}d" + (f" to {new}" if new else ""))
        await self._load_folders()

    # -- search across folders ----------------------------------------------------------

    def action_search_all(self) -> None:
        self._ask("Search all folders:", "", self.search_all)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search_all(self, query: str) -> None:
        program = search_program(query)
        found: list[tuple[str, tuple[str, int]]] = []
        self.status(f"searching all folders for {query}...")

        async def run(client):
            for name in self.folder_tree.names():
                try:
                    await client.select(name, readonly=True)
                    uids = await client.search(program)
                    for env in await client.fetch_envelopes(uids[-50:]):
                        who = env.from_[0].email if env.from_ else ""
                        found.append((f"{name}: {env.subject}  ({who})", (name, env.uid)))
                except ImapClientError:
                    continue
            await client.select(self.folder)

        await self.session.call(run)
        self.status(f"{len(found)} found")

        def done(choice: tuple[str, int] | None) -> None:
            if choice is not None:
                self.search_query = None
                self.open_folder(choice[0])

        self.app.push_screen(PickerScreen(f"{len(found)} results for {query}", found), done)

    # -- message list events ------------------------------------------------------------

    def on_message_list_highlighted(self, event) -> None:
        pass

    def reopen_message(self) -> None:
        uid = self.mlist.current_uid
        if uid is not None:
            self.load_message(uid)


__all__ = ["Acting", "Undo", "parse"]
