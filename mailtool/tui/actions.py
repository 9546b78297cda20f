"""Every user action of the TUI: an id, a default key, a description.

The id is public (``[tui] keys = ["delete=x"]`` remaps it, docs/tui.md lists
them); the key defaults follow mutt and vim (j/k, enter, r, R, f, d, s, /, c).
Screens build their Textual ``BINDINGS`` from this table with
:func:`bindings`, and the command palette lists it with each current key.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from mailtool.errors import ConfigError, ConfigErrors


@dataclass(frozen=True)
class Action:
    id: str
    key: str
    description: str
    screen: str = "main"  # "main", "compose" or "app"
    show: bool = True  # in the footer


ACTIONS: tuple[Action, ...] = (
    # moving around
    Action("next", "j,down", "Next message", show=False),
    Action("prev", "k,up", "Previous message", show=False),
    Action("open", "enter", "Open message"),
    Action("first", "g,home", "First message", show=False),
    Action("last", "G,end", "Last message", show=False),
    Action("page_down", "pagedown", "Page down", show=False),
    Action("page_up", "pageup", "Page up", show=False),
    Action("pager", "space", "Page the message; at its end, the next unread", show=False),
    Action("next_unread", "n,right_square_bracket", "Next unread message", show=False),
    Action("prev_unread", "left_square_bracket", "Previous unread message", show=False),
    Action("full_screen", "v", "Full-screen reading on/off", show=False),
    Action("sidebar", "B", "Folder sidebar on/off", show=False),
    Action("focus_next", "tab", "Next pane", show=False),
    # writing
    Action("compose", "c,m", "Compose"),
    Action("reply", "r", "Reply"),
    Action("reply_all", "R", "Reply all"),
    Action("forward", "f", "Forward inline", show=False),
    Action("forward_attached", "ctrl+f", "Forward as attachment", show=False),
    Action("edit_draft", "e", "Edit draft / send again", show=False),
    Action("reply_list", "L", "Reply to the mailing list (List-Post)", show=False),
    Action("bounce", "b", "Bounce (redirect) unchanged to other addresses", show=False),
    # acting
    Action("delete", "d", "Delete (to Trash)"),
    Action("move", "s", "Move to folder"),
    Action("copy", "C", "Copy to folder", show=False),
    Action("archive", "a", "Archive", show=False),
    Action("flag", "F", "Flag / unflag", show=False),
    Action("toggle_read", "N", "Read / unread", show=False),
    Action("mark", "t", "Mark / unmark", show=False),
    Action("mark_range", "T", "Mark range to here", show=False),
    Action("clear_marks", "ctrl+t", "Clear marks", show=False),
    Action("undo", "u", "Undo last move/delete/archive", show=False),
    Action("search", "slash", "Search this folder"),
    Action("search_all", "S", "Search all folders", show=False),
    Action("clear_search", "escape", "Clear search", show=False),
    Action("sort", "o", "Sort: date/from/subject/size", show=False),
    Action("thread", "O", "Threads on/off", show=False),
    Action("collapse_thread", "Z", "Fold / unfold the thread", show=False),
    Action("reverse", "ctrl+o", "Reverse the order", show=False),
    Action("refresh", "dollar_sign,ctrl+l", "Refresh", show=False),
    # reading
    Action("toggle_headers", "h", "All headers", show=False),
    Action("toggle_quotes", "z", "Fold quotes", show=False),
    Action("raw", "ctrl+u", "Raw source", show=False),
    Action("parts", "p", "Parts / attachments: save", show=False),
    Action("open_part", "P", "Open a part with the system handler", show=False),
    Action("links", "ctrl+b", "Links of the message: open one", show=False),
    Action("pipe", "vertical_line", "Pipe the message to a command", show=False),
    Action("save_message", "w", "Save the message to a file (.eml)", show=False),
    Action("unsubscribe", "U", "Unsubscribe from the list (List-Unsubscribe)", show=False),
    # folders
    Action("create_folder", "plus", "New folder", show=False),
    Action("rename_folder", "equals_sign", "Rename folder", show=False),
    Action("delete_folder", "minus", "Delete folder", show=False),
    Action("switch_account", "A", "Switch account", show=False),
    # composing
    Action("send", "ctrl+s", "Send", screen="compose"),
    Action("save_draft", "ctrl+d", "Save draft", screen="compose"),
    Action("editor", "ctrl+e", "Edit in $EDITOR", screen="compose"),
    Action("attach", "ctrl+a", "Attach file", screen="compose"),
    Action("pgp_sign", "ctrl+g", "PGP sign on/off", screen="compose", show=False),
    Action("pgp_encrypt", "ctrl+o", "PGP encrypt on/off", screen="compose", show=False),
    Action("cancel", "escape", "Close (keeps a draft)", screen="compose"),
    # app
    Action("help", "question_mark", "Keys (this help)", screen="app"),
    Action("quit", "q", "Quit", screen="app"),
)

BY_ID = {a.id: a for a in ACTIONS}


def remap_errors(entries: tuple[str, ...] | list[str],
                 file: str | None = None) -> list[ConfigError]:
    """One error per entry of ``[tui] keys`` that is not "ACTION=KEY" with a known ACTION."""
    errors = []
    for entry in entries:
        action, sep, key = str(entry).partition("=")
        if not sep or not key.strip() or action.strip() not in BY_ID:
            errors.append(ConfigError(
                f'given {entry!r}, expected "ACTION=KEY" with ACTION one of: '
                f"{', '.join(sorted(BY_ID))}", file=file, key="tui.keys"))
    return errors


def parse_remap(entries: tuple[str, ...]) -> dict[str, str]:
    """``("delete=x", ...)`` -> {"delete": "x"}; unknown ids are config errors (all of them)."""
    errors = remap_errors(entries)
    if errors:
        raise ConfigErrors(errors)
    return {a.strip(): k.strip() for a, _s, k in (e.partition("=") for e in entries)}


def key_for(action_id: str, remap: dict[str, str]) -> str:
    return remap.get(action_id, BY_ID[action_id].key)


def bindings(screen: str, remap: dict[str, str]) -> list[Binding]:
    """Textual bindings for ``screen`` with the user's remapping applied."""
    # the composer's keys must win over the focused editor's own (ctrl+e, ctrl+a ...)
    return [
        Binding(key_for(a.id, remap), a.id, a.description, show=a.show, id=a.id,
                priority=screen == "compose")
        for a in ACTIONS if a.screen == screen
    ]
