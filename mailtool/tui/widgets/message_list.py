"""The message list: a virtual list that renders only the visible rows.

It holds the folder's rows (``(uid, depth)``, possibly 100,000 of them) and
whatever envelopes are known; a row without its envelope draws as
"loading" and its UID is asked for with :class:`MessageList.NeedEnvelopes`,
batched per refresh, so opening a huge folder costs one UID SEARCH plus the
visible screenful of headers. Nothing here touches the network.
"""

from __future__ import annotations

import datetime as dt

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mailtool.client.imap_parse import Envelope
from mailtool.tui.list_view import (
    COLUMNS,
    collapse,
    reverse_rows,
    thread_root,
    thread_uids,
    who,
)


def _date(d: dt.datetime | None, now: dt.datetime) -> str:
    if d is None:
        return "".ljust(10)
    local = d.astimezone() if d.tzinfo else d
    if local.date() == now.date():
        return local.strftime("%H:%M").ljust(10)
    if local.year == now.year:
        return local.strftime("%b %d").ljust(10)
    return local.strftime("%Y-%m-%d")


def _size(n: int) -> str:
    for unit in ("B", "K", "M"):
        if n < 1024:
            return f"{n}{unit}"
        n //= 1024
    return f"{n}G"


def format_row(env: Envelope | None, depth: int, marked: bool, width: int,
               now: dt.datetime, *, columns: tuple[str, ...] = COLUMNS,
               recipient: bool = False, folded: int = 0) -> str:
    """One row with ``columns`` ([tui] columns); the subject takes the room left.
    ``recipient``: "from" shows the recipient (Sent, Drafts); ``folded``: the
    number of messages of a collapsed thread hidden under this row."""
    if env is None:
        return ("  … loading").ljust(width)[:width]
    cells = {
        "flags": ("*" if marked else " ") + ("N" if not env.seen else " ")
        + ("!" if env.flagged else " ") + ("r" if "\\Answered" in env.flags else " "),
        "date": _date(env.date, now),
        "from": set_cell_size(who(env, recipient), 20),
        "size": _size(env.size).rjust(5),
    }
    at = columns.index("subject") if "subject" in columns else len(columns)
    left = "".join(cells[c] + " " for c in columns[:at] if c in cells)
    right = "".join(" " + cells[c] for c in columns[at + 1:] if c in cells)
    if "subject" not in columns:
        return set_cell_size(left.rstrip(), width)
    subject = ("  " * depth + ("└ " if depth else "")) + (f"[+{folded}] " if folded else "") \
        + (env.subject or "(no subject)")
    # widths in terminal cells, not characters: a CJK character or an emoji takes two
    room = max(width - cell_len(left) - cell_len(right), 0)
    return set_cell_size(left + set_cell_size(subject, room) + right, width)


class MessageList(ScrollView, can_focus=True):
    """Rows of one folder; see the module docstring."""

    DEFAULT_CSS = """
    MessageList { height: 1fr; }
    MessageList.stale { border-title-color: $warning; }
    """

    cursor: reactive[int] = reactive(0)

    class NeedEnvelopes(Message):
        def __init__(self, uids: list[int]) -> None:
            super().__init__()
            self.uids = uids

    class Highlighted(Message):
        def __init__(self, uid: int | None) -> None:
            super().__init__()
            self.uid = uid

    class Opened(Message):
        def __init__(self, uid: int) -> None:
            super().__init__()
            self.uid = uid

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows: list[tuple[int, int]] = []
        #: the folder's rows as given, before reversing and collapsing (list_view)
        self.all_rows: list[tuple[int, int]] = []
        self.reverse = False
        self.collapsed: set[int] = set()
        self.folded: dict[int, int] = {}
        self.columns: tuple[str, ...] = COLUMNS
        #: folders whose "from" column shows the recipient (Sent, Drafts)
        self.recipient_folders: set[str] = set()
        #: a UID to put the cursor on once its row is there (remembered across restarts)
        self.wanted_uid: int | None = None
        self.envelopes: dict[int, Envelope] = {}
        self.marked: set[int] = set()
        self.folder = ""
        self._missing: set[int] = set()
        self._asked: set[int] = set()
        self._flush_pending = False

    # -- data in ---------------------------------------------------------------------

    def set_rows(self, folder: str, rows: list[tuple[int, int]],
                 envelopes: dict[int, Envelope], *, keep_cursor: bool = True) -> None:
        same = keep_cursor and folder == self.folder
        if folder != self.folder:
            self.marked.clear()
            self.collapsed.clear()
            self.envelopes = {}
        self.all_rows = rows
        rows, self.folded = collapse(reverse_rows(rows) if self.reverse else rows, self.collapsed)
        current = self._successor(rows) if same else None
        if self.wanted_uid is not None and any(u == self.wanted_uid for u, _d in rows):
            current, self.wanted_uid = self.wanted_uid, None
        self.folder = folder
        self.rows = rows
        present = {uid for uid, _d in rows}
        # a refresh of the same folder keeps the headers already here
        self.envelopes = {u: e for u, e in self.envelopes.items() if u in present}
        self.envelopes.update(envelopes)
        self._asked = set(self.envelopes)
        index = {uid: i for i, (uid, _d) in enumerate(rows)}
        self.virtual_size = Size(self.size.width, len(rows))
        self.cursor = index.get(current, 0) if current is not None else 0
        self.refresh()
        self.post_message(self.Highlighted(self.current_uid))

    def _successor(self, rows: list[tuple[int, int]]) -> int | None:
        """The row the cursor stays on once ``rows`` replace the current ones: the same
        message, or, if it went away (deleted, moved), the next one still there, as
        mutt does; the previous one when nothing follows."""
        present = {uid for uid, _d in rows}
        after = self.rows[self.cursor:]
        before = reversed(self.rows[:self.cursor])
        for uid, _d in (*after, *before):
            if uid in present:
                return uid
        return None

    def add_envelopes(self, envelopes: list[Envelope]) -> None:
        for env in envelopes:
            self.envelopes[env.uid] = env
            self._asked.add(env.uid)
        self.refresh()

    def update_flags(self, uid: int, flags: tuple[str, ...]) -> None:
        env = self.envelopes.get(uid)
        if env is not None:
            env.flags = flags
            self.refresh()

    def remove(self, uids: set[int]) -> None:
        self.set_rows(self.folder, [r for r in self.all_rows if r[0] not in uids],
                      self.envelopes)
        self.marked -= uids

    def rearrange(self) -> None:
        """Apply a changed ``reverse`` or ``collapsed``; the cursor stays on its message."""
        self.set_rows(self.folder, self.all_rows, {})

    def toggle_thread(self) -> int | None:
        """Collapse or expand the thread under the cursor; returns its root UID."""
        uid = self.current_uid
        root = thread_root(self.all_rows, uid) if uid is not None else None
        if root is not None:
            self.collapsed ^= {root}
            # onto the root first: a collapsing thread keeps the cursor on what stays shown
            self.cursor = next(i for i, (u, _d) in enumerate(self.rows) if u == root)
            self.rearrange()
        return root

    # -- queries ---------------------------------------------------------------------

    @property
    def current_uid(self) -> int | None:
        return self.rows[self.cursor][0] if 0 <= self.cursor < len(self.rows) else None

    def selection(self) -> list[int]:
        """Marked messages, or the one under the cursor (a folded thread: all of it)."""
        if self.marked:
            return [uid for uid, _d in self.rows if uid in self.marked]
        uid = self.current_uid
        if uid is not None and uid in self.folded:
            return thread_uids(self.all_rows, uid)
        return [uid] if uid is not None else []

    # -- rendering -------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self.rows):
            return Strip.blank(width)
        uid, depth = self.rows[index]
        env = self.envelopes.get(uid)
        if env is None and uid not in self._asked:
            self._missing.add(uid)
            if not self._flush_pending:
                self._flush_pending = True
                self.call_later(self._flush_missing)
        text = format_row(env, depth, uid in self.marked, width, dt.datetime.now(),
                          columns=self.columns, recipient=self.folder in self.recipient_folders,
                          folded=self.folded.get(uid, 0))
        style = Style(bold=env is not None and not env.seen)
        if index == self.cursor:
            style += Style(reverse=True)
        if uid in self.marked:
            style += Style(color="yellow")
        return Strip([Segment(text, style)], width)

    def _flush_missing(self) -> None:
        self._flush_pending = False
        if self._missing:
            uids = sorted(self._missing)
            self._asked |= self._missing
            self._missing.clear()
            self.post_message(self.NeedEnvelopes(uids))

    def watch_cursor(self, old: int, new: int) -> None:
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_offset.y + self.scrollable_content_region.height:
            self.scroll_to(y=new - self.scrollable_content_region.height + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self.current_uid))

    # -- moving ----------------------------------------------------------------------

    def move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def go(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, index))

    def find(self, direction: int, wanted) -> int | None:
        """The first row after (or before) the cursor whose envelope ``wanted`` accepts."""
        indices = range(self.cursor + 1, len(self.rows)) if direction > 0 else \
            range(self.cursor - 1, -1, -1)
        for i in indices:
            env = self.envelopes.get(self.rows[i][0])
            if env is not None and wanted(env):
                return i
        return None

    def page(self, direction: int) -> None:
        self.move(direction * max(self.scrollable_content_region.height - 1, 1))

    def toggle_mark(self) -> None:
        uid = self.current_uid
        if uid is not None:
            self.marked ^= {uid}
            self.refresh()

    def mark_range(self) -> None:
        """Mark everything between the last marked row and the cursor."""
        if not self.rows:
            return
        positions = [i for i, (uid, _d) in enumerate(self.rows) if uid in self.marked]
        anchor = min(positions, key=lambda i: abs(i - self.cursor)) if positions else self.cursor
        lo, hi = sorted((anchor, self.cursor))
        self.marked |= {uid for uid, _d in self.rows[lo:hi + 1]}
        self.refresh()

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if y is not None:
            self.go(self.scroll_offset.y + y)
