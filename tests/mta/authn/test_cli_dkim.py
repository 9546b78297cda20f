"""``mailtool dkim keygen`` writes a key and prints its record; ``mailtool dns records``
publishes the same record; a second keygen of the selector is refused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from mailtool.cli.main import cli


def run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
    return result.exit_code, result.output


def test_keygen_then_dns_records(tmp_path: Path) -> None:
    code, out = run(tmp_path, "dkim", "keygen", "Example.TEST", "--json")
    assert code == 0, out
    made = json.loads(out)
    assert [(k["selector"], k["algorithm"]) for k in made] == [
        ("mailtool", "rsa"), ("mailtool-ed25519", "ed25519")
    ]
    key_file = tmp_path / "dkim" / "example.test" / "mailtool.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    code, zone = run(tmp_path, "dns", "records", "example.test", "--json")
    assert code == 0, zone
    published = {r["name"]: "".join(r["value"].split('" "')).strip('"')
                 for r in json.loads(zone)["records"] if "_domainkey" in r["name"]}
    assert published == {f"{k['name']}.": k["txt"] for k in made}


def test_selector_is_never_overwritten_and_names_are_checked(tmp_path: Path) -> None:
    assert run(tmp_path, "dkim", "keygen", "a.test", "--algorithm", "ed25519",
               "--selector", "s1")[0] == 0
    code, out = run(tmp_path, "dkim", "keygen", "a.test", "--algorithm", "ed25519",
                    "--selector", "s1")
    assert code != 0 and "exists" in out
    code, out = run(tmp_path, "dkim", "keygen", "../etc", "--algorithm", "ed25519")
    assert code != 0 and "not a domain name" in out
    assert not (tmp_path / "etc").exists()
