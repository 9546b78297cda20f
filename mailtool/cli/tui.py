"""``mailtool tui``: the terminal mail client."""

from __future__ import annotations

import click

from mailtool.cli.common import load_config


@click.command()
@click.option("--account", "-a", "account_name", help="Account to open (default: the first).")
@click.option("--setup", metavar="ADDRESS",
              help="Discover the servers of ADDRESS (SRV, autoconfig, MX), test them, and "
                   "write an [accounts.NAME] table.")
@click.option("--imap", "imap_server", metavar="HOST[:PORT]",
              help="With --setup: the IMAP server to use, no guessing (993: TLS, 143: STARTTLS).")
@click.option("--smtp", "smtp_server", metavar="HOST[:PORT]",
              help="With --setup: the submission server, no guessing (465: TLS, 587: STARTTLS).")
@click.option("--insecure", is_flag=True,
              help="With --setup: accept self-signed certificates (writes verify_tls = false).")
@click.pass_context
def tui(ctx: click.Context, account_name: str | None, setup: str | None,
        imap_server: str | None, smtp_server: str | None, insecure: bool) -> None:
    """Read and write mail in the terminal (IMAP + SMTP, any standard server).

    \b
    Examples:
      mailtool tui                      open the first account in the config
      mailtool tui --account work       open [accounts.work]
      mailtool tui --setup me@example.com   find the servers and add the account
      mailtool tui --setup me@example.com --imap mail.example.com:993 --smtp mail.example.com:465
    """
    if (imap_server or smtp_server) and not setup:
        raise click.UsageError("--imap and --smtp go with --setup ADDRESS")
    if setup:
        from mailtool.cli.tui_setup import run_setup

        run_setup(ctx, setup, verify=not insecure, imap_server=imap_server,
                  smtp_server=smtp_server)
        return
    from mailtool.client.account import load_account, load_accounts

    cfg = load_config(ctx)
    if not cfg.accounts:
        _offer_setup(ctx, insecure)
        return
    from mailtool.tui.app import MailApp

    load_account(cfg, account_name)  # fails early, with the config's words, if it is wrong
    MailApp(load_accounts(cfg), account=account_name, tui=cfg.tui).run()


def _offer_setup(ctx: click.Context, insecure: bool) -> None:
    """No account yet: on a terminal, ask for the address and set it up; otherwise say how."""
    import sys

    from mailtool.errors import ConfigError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("no account configured yet: run `mailtool tui --setup you@example.com` "
                          "(add --imap HOST:PORT --smtp HOST:PORT to skip discovery)")
    click.echo("No mail account is configured yet. Let's set one up: mailtool finds your "
               "servers (SRV, autoconfig, MX) and tests them.")
    address = click.prompt("Your email address").strip()
    from mailtool.cli.tui_setup import run_setup

    run_setup(ctx, address, verify=not insecure)
    click.echo("Start reading with: mailtool tui")
