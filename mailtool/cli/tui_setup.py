"""``mailtool tui --setup ADDRESS``: discover, test, and write the account."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mailtool.cli.common import load_config


def default_config_path() -> Path:
    """The user's file, the first one every command reads (mailtool.config discovery)."""
    from mailtool.config import user_config_path

    return user_config_path()


def run_setup(ctx: click.Context, address: str, *, verify: bool = True,
              imap_server: str | None = None, smtp_server: str | None = None) -> None:
    """Find (or take ``imap_server``/``smtp_server`` as given), test, and write the account."""
    import asyncio

    from mailtool.client.discover import account_toml, discover, given
    from mailtool.dns.resolver import resolver_from_config
    from mailtool.errors import ConfigError

    if "@" not in address:
        raise ConfigError(f"given {address!r}, expected an email address")
    cfg = load_config(ctx)
    path = Path(cfg.source) if cfg.source else default_config_path()
    imap, smtp = asyncio.run(discover(
        address, resolver_from_config(cfg), verify=verify,
        progress=lambda s: click.echo(s, err=True),
        imap=given("imap", imap_server) if imap_server else None,
        smtp=given("smtp", smtp_server) if smtp_server else None))
    if imap is None or smtp is None:
        missing = " and ".join(p for p, r in (("IMAP", imap), ("SMTP", smtp)) if r is None)
        raise ConfigError(f"could not find a working {missing} server for {address}; "
                          "add [accounts.NAME] by hand (see docs/tui.md)")
    for label, probe in (("IMAP", imap), ("SMTP", smtp)):
        c = probe.candidate
        mechs = ", ".join(probe.mechanisms) or "none advertised"
        click.echo(f"{label}: {c.hostport} ({c.tls}, found by {c.source}); "
                   f"authentication offered: {mechs}")
        if c.tls == "none":
            click.secho(f"warning: {label} has no TLS; your password would travel in clear",
                        fg="yellow", err=True)
    base = re.sub(r"[^a-z0-9_-]", "-", address.rpartition("@")[2].split(".")[0].lower())
    name, n = base, 1
    while name in cfg.accounts:
        n += 1
        name = f"{base}{n}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(account_toml(name, address, imap.candidate, smtp.candidate))
        if not verify:
            fh.write("verify_tls = false\n")
    click.echo(f"wrote [accounts.{name}] to {path}; open it with: mailtool tui --account {name}")
