"""``mailtool tui``: the application shell. Screens do the work.

Several accounts: each ``[accounts.NAME]`` gets its own main screen in its own
Textual *mode*. All of them are mounted at start-up, so every account is
connected and pushing (IDLE + STATUS polls) all the time; ``A`` switches which
one is shown without disconnecting the others. New mail in an account that is
not shown arrives as a notification naming the account, and the connection
indicator of every screen shows every account.
"""

from __future__ import annotations

from textual.app import App

from mailtool.client.account import Account
from mailtool.config import TuiConfig
from mailtool.tui.actions import bindings, parse_remap
from mailtool.tui.commands import ActionCommands
from mailtool.tui.screens.main import MainScreen
from mailtool.tui.screens.picker import PickerScreen


def mode_of(account: str) -> str:
    return f"account:{account}"


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
        #: the latest connection state of each account: (state, reconnect delay)
        self.connection_states: dict[str, tuple[str, float | None]] = {}
        self.main_screens: dict[str, MainScreen] = {}
        for b in bindings("app", self.remap):
            self._bindings.bind(b.key, b.action, b.description, show=b.show,
                                priority=b.priority)
        if self.tui_config.theme:
            self.theme = self.tui_config.theme

    def on_mount(self) -> None:
        for name in self.accounts:
            self.add_mode(mode_of(name), lambda n=name: self._main(n))
        # mount the others first: every account connects and pushes from the start
        for name in [*(n for n in self.accounts if n != self.account_name), self.account_name]:
            self.switch_mode(mode_of(name))
        self.sub_title = self.account_name

    def _main(self, name: str) -> MainScreen:
        screen = MainScreen(self.accounts[name], remap=self.remap, tui=self.tui_config,
                            cafile=self.cafile)
        self.main_screens[name] = screen
        return screen

    @property
    def main(self) -> MainScreen:
        return self.main_screens[self.account_name]

    def connection_changed(self, account: str, state: str, delay: float | None) -> None:
        """Every main screen's indicator shows every account's connection."""
        self.connection_states[account] = (state, delay)
        for screen in self.main_screens.values():
            screen.show_connection(account, state, delay)

    def action_help(self) -> None:
        from mailtool.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.remap))

    def action_switch_account(self) -> None:
        def done(name: str | None) -> None:
            if name and name != self.account_name:
                self.account_name = name
                self.sub_title = name
                self.switch_mode(mode_of(name))

        self.push_screen(PickerScreen("Account:", [(n, n) for n in self.accounts]), done)
