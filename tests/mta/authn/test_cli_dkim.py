"""``mailtool dkim keygen`` writes a key and prints its record; ``mailtool dns records``
publishes the same record; a second keygen of the selector is refused. On both backends:
with ``[store] url`` the keys are rows of the database (tests/store/pg/test_shared.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A config file: the data dir's files, or a PostgreSQL database (``store init`` run)."""
    path = tmp_path / "mailtool.toml"
    text = f'data_dir = "{tmp_path}"\n'
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database").url
        text += f'[store]\nurl = "{url}"\n'
    path.write_text(text)
    return path


@pytest.fixture
def run(config: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        return result.exit_code, result.output

    return invoke


def test_keygen_then_dns_records(tmp_path: Path, run: Any, config: Path) -> None:
    code, out = run("dkim", "keygen", "Example.TEST", "--json")
    assert code == 0, out
    made = json.loads(out)
    assert [(k["selector"], k["algorithm"]) for k in made] == [
        ("mailtool", "rsa"), ("mailtool-ed25519", "ed25519")
    ]
    key_file = tmp_path / "dkim" / "example.test" / "mailtool.key"
    if "[store]" in config.read_text():
        assert not key_file.exists(), "on PostgreSQL the node's disk keeps no key"
    else:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    code, listed = run("dkim", "list", "--json")
    assert code == 0 and json.loads(listed) == made
    code, zone = run("dns", "records", "example.test", "--json")
    assert code == 0, zone
    published = {r["name"]: "".join(r["value"].split('" "')).strip('"')
                 for r in json.loads(zone)["records"] if "_domainkey" in r["name"]}
    assert published == {f"{k['name']}.": k["txt"] for k in made}


def test_selector_is_never_overwritten_and_names_are_checked(tmp_path: Path, run: Any) -> None:
    assert run("dkim", "keygen", "a.test", "--algorithm", "ed25519", "--selector", "s1")[0] == 0
    code, out = run("dkim", "keygen", "a.test", "--algorithm", "ed25519", "--selector", "s1")
    assert code != 0 and "exists" in out
    code, out = run("dkim", "keygen", "../etc", "--algorithm", "ed25519")
    assert code != 0 and "not a domain name" in out
    assert not (tmp_path / "etc").exists()
