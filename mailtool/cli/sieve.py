"""``mailtool sieve``: check, install, show and switch off Sieve filters.

Thin: each command parses its options, calls one store or Sieve function, and
prints. Scripts live under ``<data_dir>/sieve`` (see
:mod:`mailtool.store.sieve_scripts`), or with ``[store] url`` in the PostgreSQL
database (:mod:`mailtool.store.pg.sieve_scripts`); ManageSieve clients edit the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mailtool.cli.common import json_option, open_stores, print_json

#: the script name ``sieve set`` uses unless --name says otherwise
DEFAULT_NAME = "mailtool"


def _stores(ctx: click.Context) -> Any:
    """The configured backend's stores, opened once per command (closed with it)."""
    if "mailtool.stores" not in ctx.meta:
        ctx.meta["mailtool.stores"] = open_stores(ctx)
    return ctx.meta["mailtool.stores"]


def _scripts(ctx: click.Context) -> Any:
    return _stores(ctx).sieve_scripts


def _user(ctx: click.Context, user: str) -> str:
    """The account's own spelling of USER; an unknown user is an error (exit 1)."""
    return str(_stores(ctx).accounts.get_user(user).address)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise click.BadParameter(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path}: not UTF-8 (RFC 5228 §2.4.2 requires it)") from None


def _checked(path: str) -> str:
    """The script text, or exit 1 with ``FILE:LINE:COLUMN: message``."""
    from mailtool.mda.sieve import SieveSyntaxError, check

    text = _read(path)
    try:
        check(text)
    except SieveSyntaxError as exc:
        click.echo(f"{path}:{exc.line}:{exc.column}: {exc.message}", err=True)
        sys.exit(1)
    return text


@click.group()
def sieve() -> None:
    """Sieve mail filters (RFC 5228): per-user scripts and the global script.

    \b
    Examples:
      mailtool sieve check filter.sieve
      mailtool sieve set alice@example.test filter.sieve
      mailtool sieve show alice@example.test
      mailtool sieve off alice@example.test
      mailtool sieve global set spam.sieve
    """


@sieve.command("check")
@click.argument("file")
def sieve_check(file: str) -> None:
    """Check that FILE is a valid Sieve script; errors name the line and column.

    \b
    Examples:
      mailtool sieve check filter.sieve
      cat filter.sieve | mailtool sieve check -
    """
    _checked(file)
    click.echo(f"{file}: ok")


@sieve.command("set")
@click.argument("user")
@click.argument("file")
@click.option("--name", default=DEFAULT_NAME, show_default=True, help="Script name to store.")
@click.pass_context
def sieve_set(ctx: click.Context, user: str, file: str, name: str) -> None:
    """Check FILE, store it as USER's script and make it the active one.

    \b
    Examples:
      mailtool sieve set alice@example.test filter.sieve
      mailtool sieve set alice@example.test vacation.sieve --name vacation
    """
    text = _checked(file)
    address = _user(ctx, user)
    scripts = _scripts(ctx)
    scripts.put(address, name, text)
    scripts.activate(address, name)
    click.echo(f"{address}: script {name!r} is active")


@sieve.command("show")
@click.argument("user")
@click.pass_context
def sieve_show(ctx: click.Context, user: str) -> None:
    """Print USER's active script.

    \b
    Example:
      mailtool sieve show alice@example.test
    """
    address = _user(ctx, user)
    text = _scripts(ctx).active_script(address)
    if text is None:
        click.echo(f"{address} has no active Sieve script", err=True)
        sys.exit(1)
    click.echo(text, nl=not text.endswith("\n"))


@sieve.command("list")
@click.argument("user")
@json_option
@click.pass_context
def sieve_list(ctx: click.Context, user: str, as_json: bool) -> None:
    """List USER's scripts (ManageSieve clients may have stored several).

    \b
    Examples:
      mailtool sieve list alice@example.test
      mailtool sieve list alice@example.test --json
    """
    address = _user(ctx, user)
    infos = _scripts(ctx).list(address)
    if as_json:
        print_json([{"name": i.name, "active": i.active, "size": i.size} for i in infos])
        return
    for info in infos:
        click.echo(f"{info.name}{'  (active)' if info.active else ''}  {info.size} bytes")


@sieve.command("off")
@click.argument("user")
@click.pass_context
def sieve_off(ctx: click.Context, user: str) -> None:
    """Switch USER's filtering off (the scripts are kept; `set` switches it on again).

    \b
    Example:
      mailtool sieve off alice@example.test
    """
    address = _user(ctx, user)
    _scripts(ctx).activate(address, None)
    click.echo(f"{address}: no active script")


@sieve.command("promotions")
@click.argument("user")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.pass_context
def sieve_promotions(ctx: click.Context, user: str, state: str) -> None:
    """Switch the built-in rule that files bulk mail into Promotions on or off.

    Bulk mail has List-Unsubscribe, List-Id or Precedence: bulk; the rule
    only changes where the implicit keep goes, so the user's own rules win.

    \b
    Examples:
      mailtool sieve promotions alice@example.test on
      mailtool sieve promotions alice@example.test off
    """
    from mailtool.mda.filtering import PROMOTIONS_SETTING

    address = _user(ctx, user)
    _scripts(ctx).set_setting(address, PROMOTIONS_SETTING, state == "on")
    click.echo(f"{address}: promotions rule {state}")


@sieve.group("global")
def sieve_global() -> None:
    """The global script, run before every user's script.

    Without one, mailtool's default global script files mail that the spam
    scanner flagged (X-Spam-Flag: YES) into Junk.

    \b
    Examples:
      mailtool sieve global set global.sieve
      mailtool sieve global show
      mailtool sieve global off
    """


@sieve_global.command("set")
@click.argument("file")
@click.pass_context
def global_set(ctx: click.Context, file: str) -> None:
    """Check FILE and install it as the global script.

    \b
    Example:
      mailtool sieve global set global.sieve
    """
    text = _checked(file)  # read before _scripts: that may give up root (privsep)
    _scripts(ctx).set_global(text)
    click.echo("global script installed")


@sieve_global.command("show")
@click.pass_context
def global_show(ctx: click.Context) -> None:
    """Print the global script in effect (the built-in default if none is installed).

    \b
    Example:
      mailtool sieve global show
    """
    from mailtool.mda.filtering import DEFAULT_GLOBAL_SCRIPT

    text = _scripts(ctx).global_script()
    if text is None:
        click.echo("# no global script installed; the built-in default is in effect:", err=True)
        text = DEFAULT_GLOBAL_SCRIPT
    click.echo(text, nl=not text.endswith("\n"))


@sieve_global.command("off")
@click.pass_context
def global_off(ctx: click.Context) -> None:
    """Remove the installed global script (the built-in default junk rule applies again).

    \b
    Example:
      mailtool sieve global off
    """
    removed = _scripts(ctx).remove_global()
    click.echo("global script removed" if removed else "no global script was installed")
