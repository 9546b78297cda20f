"""TUI tests drive the real app against real servers (see servers.py)."""

from tests.tui.servers import account_config, mail_server  # noqa: F401
