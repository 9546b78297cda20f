"""``mailtool config check`` reports every mistake at once, [tui] keys too (issue 21 bug 12)."""

from __future__ import annotations

import subprocess
import sys


def check(path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailtool", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_every_bad_key_is_reported_with_file_and_key(tmp_path):
    path = tmp_path / "mailtool.toml"
    path.write_text('[limits]\nmax_recipients = 0\nnonsense = 1\n'
                    '[tui]\nkeys = ["nonsense=y", "delete=x", "reply"]\n')
    result = check(path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if str(path) in line]
    assert [line.removeprefix("error: ").split(": ")[1] for line in lines] == [
        "limits.max_recipients", "limits.nonsense", "tui.keys", "tui.keys"], result.stderr
    assert "'nonsense=y'" in result.stderr and "'reply'" in result.stderr
    assert "'delete=x'" not in result.stderr


def test_tui_keys_the_tui_refuses_are_refused_by_check(tmp_path):
    path = tmp_path / "mailtool.toml"
    path.write_text('[tui]\nkeys = ["nonsense=y"]\n')
    result = check(path)
    assert result.returncode == 2, result.stdout
    assert "tui.keys" in result.stderr


def test_a_good_file_is_ok(tmp_path):
    path = tmp_path / "mailtool.toml"
    path.write_text('[tui]\nkeys = ["delete=x"]\n')
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: OK"
