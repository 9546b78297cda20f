"""The message list as the user arranged it: sort and reverse from ``[tui]``,
collapsed threads, and where they were last time (folder, order, cursor),
kept in the account's cache database (:meth:`EnvelopeCache.save_view`).

A mixin of the main screen (through :class:`~mailtool.tui.screens.acting.Acting`);
the row arithmetic is :mod:`mailtool.tui.list_view`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailtool.client.imap_parse import Folder
from mailtool.tui.folder_view import SORTS
from mailtool.tui.list_view import recipient_folders

if TYPE_CHECKING:
    from mailtool.tui.screens.main import MainScreen as _Base
else:
    _Base = object


class Arranging(_Base):
    def restore_view(self) -> None:
        """``[tui] sort/reverse/columns`` first, then what the last session left."""
        self.sort = self.tui.sort
        self.mlist.reverse = self.tui.reverse
        self.mlist.columns = self.tui.columns
        state = self.cache.view()
        known = {f.name for f in self.cache.folders()}
        if isinstance(folder := state.get("folder"), str) and folder in known:
            self.folder = folder
        if state.get("sort") in SORTS:
            self.sort = str(state["sort"])
        if isinstance(reverse := state.get("reverse"), bool):
            self.mlist.reverse = reverse
        if isinstance(threaded := state.get("threaded"), bool):
            self.threaded = threaded
        if isinstance(uid := state.get("uid"), int) and state.get("folder") == self.folder:
            self.mlist.wanted_uid = uid

    def remember_view(self) -> None:
        self.cache.save_view({"folder": self.folder, "sort": self.sort,
                              "reverse": self.mlist.reverse, "threaded": self.threaded,
                              "uid": self.mlist.current_uid})

    def note_folders(self, folders: list[Folder]) -> None:
        self.mlist.recipient_folders = recipient_folders(folders)

    def action_reverse(self) -> None:
        self.mlist.reverse = not self.mlist.reverse
        self.mlist.rearrange()
        self._title()

    def action_collapse_thread(self) -> None:
        if not self.threaded:
            self.notify("threads are off (O shows them)")
            return
        root = self.mlist.toggle_thread()
        if root is not None and root in self.mlist.collapsed:
            self.status(f"thread folded: {self.mlist.folded.get(root, 0) + 1} messages")
