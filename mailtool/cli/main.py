"""The ``mailtool`` command group.

Commands are loaded lazily (``COMMANDS`` maps a name to ``module:attribute``),
so ``mailtool --help`` imports click and these small modules only: never
textual, aiosmtpd or dnspython (tests/cli/test_help.py checks ``sys.modules``).
Command modules must keep their heavy imports inside the command functions.
"""

from __future__ import annotations

import importlib
import sys

import click

from mailtool import __version__
from mailtool.errors import MailtoolError

#: command name -> "module:attribute"; one line per command, in --help order
COMMANDS: dict[str, str] = {
    "serve": "mailtool.cli.serve:serve",
    "config": "mailtool.cli.config_cmd:config",
    "domain": "mailtool.cli.accounts:domain",
    "user": "mailtool.cli.accounts:user",
    "alias": "mailtool.cli.accounts:alias",
    "sieve": "mailtool.cli.sieve:sieve",
    "queue": "mailtool.cli.queue:queue",
    "store": "mailtool.cli.store:store",
    "tui": "mailtool.cli.tui:tui",
    "send": "mailtool.cli.send:send",
    "diagnose": "mailtool.cli.diagnose:diagnose",
    "probe": "mailtool.cli.probe:probe",
    "dns": "mailtool.cli.dns_cmd:dns",
    "dkim": "mailtool.cli.dkim:dkim",
    "import": "mailtool.cli.transfer:import_",
    "export": "mailtool.cli.transfer:export",
    "quickstart": "mailtool.cli.quickstart:quickstart",
    "backup": "mailtool.cli.backup:backup",
    "restore": "mailtool.cli.backup:restore",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # a command not written yet: hide it
                return None
            raise
        return getattr(module, attr)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MailtoolError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailtool")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="MAILTOOL_CONFIG",
    help="TOML config file (env MAILTOOL_CONFIG; default: the first that exists of "
    "$XDG_CONFIG_HOME/mailtool/mailtool.toml and /etc/mailtool/mailtool.toml, else built-in "
    "defaults; `mailtool config path` shows which).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    envvar="MAILTOOL_DATA_DIR",
    help="Data directory; overrides data_dir in the config (env MAILTOOL_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None) -> None:
    """mailtool: a complete mail system and the tools around it.

    \b
    Examples:
      mailtool serve                       run SMTP, submission, IMAP and POP3
      mailtool domain add example.test     host mail for a domain
      mailtool user add alice@example.test create a mailbox (asks for a password)
      mailtool config show                 print the effective configuration
    """
    ctx.obj = {"config_path": config_path, "data_dir": data_dir}


def main() -> None:
    """Console-script entry point."""
    import os

    # files 0600, directories 0700 (DESIGN principle 7): what the CLI writes in the data
    # dir must not be readable by other local users, whatever the caller's umask
    os.umask(0o077)
    cli(prog_name="mailtool")
