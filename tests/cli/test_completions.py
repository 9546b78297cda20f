"""completions/ must match what click generates today."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtool.cli.completions import FILES, script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_file_is_fresh(shell):
    path = ROOT / "completions" / FILES[shell]
    assert path.exists(), f"{path} missing: run `make completions`"
    assert path.read_text() == script(shell), f"{path} is stale: run `make completions`"


def test_bash_completion_completes_subcommands(monkeypatch):
    import subprocess
    import sys

    env = {"COMP_WORDS": "mailtool con", "COMP_CWORD": "1", "_MAILTOOL_COMPLETE": "bash_complete"}
    out = subprocess.run(
        [sys.executable, "-c", "from mailtool.cli.main import main; main()"],
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
    )
    assert "plain,config" in out.stdout
