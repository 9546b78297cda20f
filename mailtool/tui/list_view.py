"""How the message list arranges its rows: reverse order, collapsed threads, columns.

No widgets here, so it is tested directly. Rows are ``(uid, depth)`` as
:func:`mailtool.tui.folder_view.folder_rows` makes them: a thread is a row of
depth 0 and the deeper rows after it. Reversing keeps each thread whole (its
replies stay under it) and reverses the order of the threads; a collapsed
thread shows its first row only, with the number of messages folded into it.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailtool.client.imap_parse import Envelope, Folder

Rows = list[tuple[int, int]]
COLUMNS = ("flags", "date", "from", "subject", "size")
#: RFC 6154 §2: folders whose messages the user wrote: show who they went to
RECIPIENT_USES = frozenset({"\\Sent", "\\Drafts"})
RECIPIENT_NAMES = frozenset({"sent", "sent items", "sent messages", "drafts"})


def threads(rows: Rows) -> list[Rows]:
    """The rows cut into threads (a depth-0 row and what follows it)."""
    groups: list[Rows] = []
    for uid, depth in rows:
        if depth == 0 or not groups:
            groups.append([])
        groups[-1].append((uid, depth))
    return groups


def reverse_rows(rows: Rows) -> Rows:
    """The threads in the opposite order, each kept in its own order."""
    return [row for group in reversed(threads(rows)) for row in group]


def collapse(rows: Rows, collapsed: set[int]) -> tuple[Rows, dict[int, int]]:
    """(visible rows, hidden count per shown root) with the threads whose root UID
    is in ``collapsed`` folded into their first row."""
    visible: Rows = []
    hidden: dict[int, int] = {}
    for group in threads(rows):
        root = group[0][0]
        if root in collapsed and len(group) > 1:
            visible.append(group[0])
            hidden[root] = len(group) - 1
        else:
            visible.extend(group)
    return visible, hidden


def thread_uids(rows: Rows, root: int) -> list[int]:
    """Every UID of the thread whose first row is ``root`` (a folded thread acts whole,
    as in mutt)."""
    for group in threads(rows):
        if group[0][0] == root:
            return [u for u, _d in group]
    return [root]


def thread_root(rows: Rows, uid: int) -> int | None:
    """The UID of the first row of the thread ``uid`` is in."""
    for group in threads(rows):
        if any(u == uid for u, _d in group):
            return group[0][0]
    return None


def recipient_folders(folders: Iterable[Folder]) -> set[str]:
    """Folders where the list's "from" column shows the recipient instead (Sent, Drafts)."""
    return {f.name for f in folders
            if f.attributes & RECIPIENT_USES
            or f.name.rsplit(f.delimiter or "/", 1)[-1].lower() in RECIPIENT_NAMES}


def who(env: Envelope, recipient: bool) -> str:
    """The sender, or in Sent/Drafts "To: " the first recipient (mutt's %F)."""
    if recipient:
        to = env.to[0] if env.to else None
        return f"To: {(to.name or to.email) if to else ''}"
    sender = env.from_[0] if env.from_ else None
    return (sender.name or sender.email) if sender else ""
