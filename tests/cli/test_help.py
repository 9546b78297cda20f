"""--help: every command listed, every command with an example, no heavy imports."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from mailtool import __version__
from mailtool.cli.main import COMMANDS, cli


def all_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli, info_name="mailtool")
    found = []

    def walk(group: click.Group, path: str, gctx: click.Context) -> None:
        for name in group.list_commands(gctx):
            cmd = group.get_command(gctx, name)
            if cmd is None:
                continue
            found.append((f"{path} {name}", cmd))
            if isinstance(cmd, click.Group):
                walk(cmd, f"{path} {name}", click.Context(cmd, info_name=name, parent=gctx))

    walk(cli, "mailtool", ctx)
    return found


def test_help_lists_every_available_command_with_a_summary():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    ctx = click.Context(cli, info_name="mailtool")
    listed = [n for n in COMMANDS if cli.get_command(ctx, n) is not None]
    assert {"serve", "config"} <= set(listed)
    for name in listed:
        line = next(ln for ln in result.output.splitlines() if ln.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 5, f"{name} has no summary"


def test_every_command_help_has_an_example():
    missing = [path for path, cmd in all_commands() if "Example" not in (cmd.help or "")]
    assert not missing, f"commands without an example in --help: {missing}"


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from mailtool.cli.main import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='mailtool')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('textual', 'aiosmtpd', 'dns', 'aioimaplib', 'aiosmtplib', 'rich')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["nonsense"])
    assert result.exit_code == 2
    assert "No such command" in result.output
