"""Generate the shell completion scripts in ``completions/`` from the click commands.

``python -m mailtool.cli.completions DIR`` writes ``mailtool.bash``,
``_mailtool`` (zsh) and ``mailtool.fish``. The scripts call back into
``mailtool`` (click's completion protocol), so they stay correct as commands
change; tests/cli/test_completions.py fails when the files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.shell_completion import get_completion_class

from mailtool.cli.main import cli

FILES = {"bash": "mailtool.bash", "zsh": "_mailtool", "fish": "mailtool.fish"}


def script(shell: str) -> str:
    cls = get_completion_class(shell)
    assert cls is not None
    return cls(cli, {}, "mailtool", "_MAILTOOL_COMPLETE").source()


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in FILES.items():
        path = directory / name
        path.write_text(script(shell))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "completions")):
        print(p)
