"""docs/tui.md lists every action with its default keys."""

from __future__ import annotations

from pathlib import Path

from mailtool.tui.actions import ACTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "tui.md"


def test_every_action_is_documented_with_its_keys():
    text = DOC.read_text()
    for a in ACTIONS:
        keys = ", ".join(f"`{k}`" for k in a.key.split(","))
        assert f"| `{a.id}` | {keys} |" in text, f"docs/tui.md: action {a.id} missing or stale"
