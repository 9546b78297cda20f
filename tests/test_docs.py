"""docs/: generated pages are fresh and the mkdocs site builds with --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mailtool.cli.reference import reference_markdown
from mailtool.config import reference_markdown as config_reference

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_fresh():
    assert (ROOT / "docs/configuration.md").read_text() == config_reference(), "run `make docs`"


def test_cli_reference_is_fresh():
    assert (ROOT / "docs/cli.md").read_text() == reference_markdown(), "run `make docs`"


def test_mkdocs_build_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists()
