"""``?``: every key of the TUI, as the user's ``[tui] keys`` remapped them."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mailtool.tui.actions import ACTIONS, key_for

SECTIONS = (("main", "Reading and acting"), ("compose", "Composing"), ("app", "Everywhere"))


def _keys(spec: str) -> str:
    """Textual key names as a person types them: ``question_mark`` -> ``?``."""
    names = {"question_mark": "?", "slash": "/", "dollar_sign": "$", "plus": "+",
             "minus": "-", "equals_sign": "=", "left_square_bracket": "[",
             "right_square_bracket": "]", "space": "Space", "enter": "Enter",
             "escape": "Esc", "tab": "Tab", "pagedown": "PgDn", "pageup": "PgUp"}
    return "  ".join(names.get(k, k.replace("ctrl+", "Ctrl-")) for k in spec.split(","))


def key_table(remap: dict[str, str]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what")
    for screen, title in SECTIONS:
        table.add_row(f"[reverse] {title} [/]", "")
        for action in ACTIONS:
            if action.screen == screen:
                table.add_row(_keys(key_for(action.id, remap)), action.description)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%;
                                  border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar = [("escape,question_mark,q", "close", "Close")]

    def __init__(self, remap: dict[str, str]) -> None:
        super().__init__()
        self.remap = remap

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(key_table(self.remap), id="keys")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
