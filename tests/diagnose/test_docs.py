"""docs/diagnose.md is generated from the check catalogue and lists every check."""

from __future__ import annotations

from pathlib import Path

from mailtool.diagnose.catalog import render
from mailtool.diagnose.findings import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]


def test_diagnose_docs_are_fresh():
    expected = render()
    assert (ROOT / "docs/diagnose.md").read_text() == expected, (
        "run `python -m mailtool.diagnose.catalog > docs/diagnose.md`"
    )


def test_every_check_is_documented_with_why_and_fix():
    text = render()
    for check in CATALOGUE.values():
        assert f"`{check.id}`" in text
        assert check.why
    assert "mailtool.diagnose/1" in text
