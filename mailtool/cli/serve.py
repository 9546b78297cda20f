"""``mailtool serve``: run the mail server in the foreground."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from mailtool.cli.common import load_config

if TYPE_CHECKING:
    from mailtool.store.interfaces import AccountStore


def _domains(accounts: AccountStore) -> list[str]:
    """The hosted domains, for the start-up panel (none when the store cannot say)."""
    try:
        return accounts.domains()
    except Exception:
        return []


def _panel(server: object) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from mailtool.server import MailServer

    assert isinstance(server, MailServer) and server.ctx is not None
    certs = server.ctx.certs
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, (host, port) in server.bound.items():
        table.add_row(name, f"{host}:{port}")
    for name in server.unavailable:
        table.add_row(name, "[dim]not in this build[/dim]")
    table.add_row("", "")
    # values as Text, never markup: a fingerprint's ":CD:" is an emoji code to rich
    table.add_row("data dir", Text(str(server.data_dir)))
    domains = _domains(server.ctx.accounts)
    table.add_row("domains", ", ".join(domains) or "[yellow]none yet[/yellow]")
    cert_note = " (self-signed, generated now)" if certs.generated else ""
    if server.config.tls.acme:
        from mailtool.acme.manager import panel_note

        cert_note = panel_note(certs.cert)
    table.add_row("certificate", Text(f"{certs.cert}{cert_note}"))
    table.add_row("sha256", Text(certs.fingerprint))
    if domains:
        hint = f"mailtool user add you@{domains[0]}"
    else:
        hint = "mailtool domain add example.test && mailtool user add you@example.test"
    table.add_row("next", hint)
    Console().print(
        Panel(table, title=f"mailtool serve - {server.config.hostname}", subtitle="Ctrl-C to stop")
    )
    from mailtool.web.account_table import account_table

    example = f"you@{domains[0]}" if domains else "you@example.test"
    client = account_table(server.config, example, bound=server.bound)
    if client:
        Console().print(Text("A client account for this server (mailtool tui), with your "
                             "address:\n", style="dim") + Text(client))


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run SMTP, submission, IMAP and POP3 in one process until SIGTERM or Ctrl-C.

    With no config it uses the embedded default: SQLite and Maildir under the
    data dir, a self-signed certificate generated on first start, and ports
    2525/2587/2465/2143/2993/2110/2995 on 127.0.0.1 when not root (the standard
    ports when root). The bound addresses are written to
    DATA_DIR/run/listeners.json. SIGHUP re-reads the certificate. The event
    loop is uvloop when installed; MAILTOOL_EVENT_LOOP=asyncio picks asyncio's own.

    Started as root, serve binds its ports and then runs as [server] user
    (default mailtool, created as a system user when missing), which owns the
    data dir (files 0600, directories 0700).

    \b
    Examples:
      mailtool serve
      mailtool --data-dir /tmp/mt serve
      mailtool --config /etc/mailtool.toml serve
    """
    from mailtool import server
    from mailtool.net.log import setup_logging
    from mailtool.store.datadir import PRIVATE_UMASK

    os.umask(PRIVATE_UMASK)  # files 0600, directories 0700, whoever calls us (privsep)
    cfg = load_config(ctx)
    setup_logging()
    server.run_loop(server.run(cfg, on_started=_panel))
