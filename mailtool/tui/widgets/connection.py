"""The per-account connection indicator: connected / idle / reconnecting in N s / offline."""

from __future__ import annotations

from textual.widgets import Static

SYMBOLS = {"connecting": ("…", "connecting"), "connected": ("●", "connected"),
           "idle": ("●", "idle (push)"), "offline": ("○", "offline"),
           "reconnecting": ("◌", "reconnecting")}


class ConnectionIndicator(Static):
    DEFAULT_CSS = """
    ConnectionIndicator { width: auto; padding: 0 1; }
    ConnectionIndicator.offline, ConnectionIndicator.reconnecting { color: $warning; }
    ConnectionIndicator.idle, ConnectionIndicator.connected { color: $success; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.states: dict[str, str] = {}

    def set_state(self, account: str, state: str, delay: float | None = None) -> None:
        symbol, text = SYMBOLS.get(state, ("?", state))
        if state == "reconnecting" and delay is not None:
            text = f"reconnecting in {delay:.0f} s"
        elif state == "offline" and delay is not None:
            text = f"offline, retrying in {delay:.0f} s"
        self.states[account] = f"{symbol} {account}: {text}"
        self.set_classes(state)
        self.update("  ".join(self.states.values()))

    @property
    def text(self) -> str:
        return "  ".join(self.states.values())
