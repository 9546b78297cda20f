"""Client tests share the TUI tests' real-server fixtures (tests/tui/servers.py)."""

from tests.tui.servers import account_config, mail_server  # noqa: F401
