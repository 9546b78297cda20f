"""``mailtool tui``: the application shell. Screens do the work."""

from __future__ import annotations

from textual.app import App

from mailtool.client.account import Account
from mailtool.config import TuiConfig
from mailtool.tui.actions import bindings, parse_remap
from mailtool.tui.commands import ActionCommands
from mailtool.tui.screens.main import MainScreen
from mailtool.tui.screens.picker import PickerScreen


class MailApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "mailtool"
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(self, accounts: list[Account], *, account: str | None = None,
                 tui: TuiConfig | None = None, cafile: str | None = None) -> None:
        super().__init__()
        self.accounts = {a.name: a for a in accounts}
        self.account_name = account or next(iter(self.accounts))
        self.tui_config = tui or TuiConfig()
        self.remap = parse_remap(self.tui_config.keys)
        self.cafile = cafile
        for b in bindings("app", self.remap):
            self._bindings.bind(b.key, b.action, b.description, show=b.show,
                                priority=b.priority)
        if self.tui_config.theme:
            self.theme = self.tui_config.theme

    def on_mount(self) -> None:
        self.push_screen(self._main(self.account_name))

    def _main(self, name: str) -> MainScreen:
        self.sub_title = name
        return MainScreen(self.accounts[name], remap=self.remap, tui=self.tui_config,
                          cafile=self.cafile)

    @property
    def main(self) -> MainScreen:
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    def action_switch_account(self) -> None:
        def done(name: str | None) -> None:
            if name and name != self.account_name:
                self.account_name = name
                self.switch_screen(self._main(name))

        self.push_screen(PickerScreen("Account:", [(n, n) for n in self.accounts]), done)
