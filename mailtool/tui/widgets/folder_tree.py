"""The folder tree: special-use folders first (INBOX, Sent, Drafts, Junk, Trash,
Archive, found by RFC 6154 attributes), then the user's, nested by the
hierarchy delimiter; each with its unread count."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mailtool.client.imap_parse import SPECIAL_USE, Folder, MailboxInfo

ICONS = {"\\Inbox": "📥", "\\Sent": "📤", "\\Drafts": "📝", "\\Junk": "🚫", "\\Trash": "🗑",
         "\\Archive": "🗄"}


def order(folders: list[Folder]) -> list[Folder]:
    """Special-use folders in SPECIAL_USE order, then the rest by name."""
    rank = {use: i for i, use in enumerate(SPECIAL_USE)}
    return sorted(folders, key=lambda f: (rank.get(f.special or "", len(rank)), f.name.lower()))


class FolderTree(Tree[str]):
    DEFAULT_CSS = """
    FolderTree { width: 28; }
    """

    class Chosen(Message):
        def __init__(self, folder: str) -> None:
            super().__init__()
            self.folder = folder

    def __init__(self, **kwargs: object) -> None:
        super().__init__("Folders", **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 2
        self.folders: list[Folder] = []
        self.status: dict[str, MailboxInfo] = {}
        self._folder_nodes: dict[str, TreeNode[str]] = {}

    def _label(self, folder: Folder, short: str) -> str:
        info = self.status.get(folder.name)
        icon = ICONS.get(folder.special or "", " ")
        unseen = f" ({info.unseen})" if info and info.unseen else ""
        return f"{icon} {short}{unseen}"

    def set_folders(self, folders: list[Folder], status: dict[str, MailboxInfo],
                    selected: str | None = None) -> None:
        self.folders = order(folders)
        self.status = dict(status)
        self.clear()
        self._folder_nodes = {}
        for f in self.folders:
            parent: TreeNode[str] = self.root
            short = f.name
            if f.delimiter and not f.special and f.delimiter in f.name:
                head, _, short = f.name.rpartition(f.delimiter)
                parent = self._folder_nodes.get(head, self.root)
            node = parent.add(self._label(f, short), data=f.name, expand=True,
                              allow_expand=False)
            self._folder_nodes[f.name] = node
        for node in self._folder_nodes.values():
            node.allow_expand = bool(node.children)
        if selected in self._folder_nodes:
            self.move_cursor(self._folder_nodes[selected])

    def set_status(self, folder: str, info: MailboxInfo) -> None:
        self.status[folder] = info
        node = self._folder_nodes.get(folder)
        f = next((x for x in self.folders if x.name == folder), None)
        if node is not None and f is not None:
            short = f.name.rpartition(f.delimiter)[2] if f.delimiter and not f.special else f.name
            node.set_label(self._label(f, short))

    def names(self) -> list[str]:
        return [f.name for f in self.folders]

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data:
            self.post_message(self.Chosen(event.node.data))

    @property
    def current(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None
