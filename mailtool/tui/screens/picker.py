"""Pick one of a list: folder picker, search results, parts, accounts."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class PickerScreen(ModalScreen[Any]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical { width: 80; height: auto; max-height: 80%; border: thick $primary;
                              padding: 1 2; background: $surface; }
    PickerScreen OptionList { height: auto; max-height: 30; }
    """
    BINDINGS: ClassVar = [("escape", "dismiss_none", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            # plain text: a subject, folder or link text like "[/x]" is not markup
            yield OptionList(*[Option(Content(label), id=str(i)) for i, (label, _v) in
                               enumerate(self.choices)], id="choices")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
