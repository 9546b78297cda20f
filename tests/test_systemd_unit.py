"""contrib/mailtool.service: a unit systemd accepts, with the hardening docs/deploy.md
promises (issue 15 point 8). Needs systemd-analyze (Debian package ``systemd``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.peers import require_tool

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "mailtool.service"
INSTALLED = "/opt/mailtool/bin/mailtool"


def settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart on this checkout's mailtool (verify checks it exists)."""
    mailtool = Path(sys.executable).with_name("mailtool")
    path = tmp_path / "mailtool.service"
    path.write_text(UNIT.read_text().replace(INSTALLED, str(mailtool)))
    return path


def test_unit_has_the_hardening():
    unit = settings(UNIT.read_text())
    assert unit["User"] == ["mailtool"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["ProtectHome"] == ["yes"] and unit["PrivateTmp"] == ["yes"]
    assert unit["ReadWritePaths"] == ["/var/lib/mailtool"]
    assert unit["CapabilityBoundingSet"] == unit["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["UMask"] == ["0077"] and unit["StateDirectoryMode"] == ["0700"]
    assert "--data-dir /var/lib/mailtool serve" in unit["ExecStart"][0]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    analyze = require_tool("systemd-analyze")
    done = subprocess.run(
        [analyze, "verify", str(local_unit(tmp_path))], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # unknown keys and bad values are warnings, not a failed exit: none at all
    assert "mailtool.service" not in done.stderr, done.stderr


def test_systemd_analyze_security_rates_the_unit_ok(tmp_path):
    analyze = require_tool("systemd-analyze")
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(local_unit(tmp_path))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    # 0 (locked down) .. 10 (UNSAFE); systemd calls up to 2.0 "OK"
    assert float(found.group(1)) <= 2.0, done.stdout
