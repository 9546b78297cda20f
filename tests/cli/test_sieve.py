"""``mailtool sieve``: check with line/column, set/show/off, promotions, global script;
on both backends (with ``[store] url`` the users and scripts are PostgreSQL rows: so
``domain add`` and ``user add`` run end to end on a PostgreSQL config here too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request, tmp_path):
    """The config file: the data dir, or a PostgreSQL database (schema made)."""
    path = tmp_path / "mailtool.toml"
    text = f'data_dir = "{tmp_path}"\n'
    if request.param == "postgresql":
        text += f'[store]\nurl = "{request.getfixturevalue("pg_database").url}"\n'
    path.write_text(text)
    return path


@pytest.fixture
def scripts(config):
    """The scripts as the server sees them (the configured backend's store)."""
    from mailtool.config import load
    from mailtool.store.backends import Stores

    stores = Stores(load(config))
    yield stores.sieve_scripts
    stores.close()


@pytest.fixture
def run(config):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)

    assert invoke("domain", "add", "a.test").exit_code == 0
    added = invoke("user", "add", "alice@a.test", "--password-stdin", input="pw-123456\n")
    assert added.exit_code == 0, added.output
    return invoke


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.sieve"
    path.write_text('require "fileinto";\nif header :contains "subject" "x" { fileinto "X"; }\n')
    return str(path)


@pytest.fixture
def bad(tmp_path):
    path = tmp_path / "bad.sieve"
    path.write_text('require "fileinto";\n\nif true {\n    fileinto "X"\n}\n')
    return str(path)


def test_check_ok_and_error_with_line_and_column(run, good, bad):
    ok = run("sieve", "check", good)
    assert ok.exit_code == 0 and ok.output.strip() == f"{good}: ok"
    err = run("sieve", "check", bad)
    assert err.exit_code == 1
    assert f"{bad}:5:1: expected ';' or '{{' after fileinto" in err.output


def test_check_reads_stdin(run):
    assert run("sieve", "check", "-", input="keep;\n").exit_code == 0
    assert run("sieve", "check", "-", input="kep;\n").exit_code == 1


def test_set_show_off(run, good, bad, scripts):
    assert run("sieve", "show", "alice@a.test").exit_code == 1
    result = run("sieve", "set", "Alice@A.test", good)
    assert result.exit_code == 0, result.output
    assert scripts.active_name("alice@a.test") == "mailtool"
    shown = run("sieve", "show", "alice@a.test")
    assert shown.exit_code == 0 and 'fileinto "X"' in shown.output
    assert run("sieve", "set", "alice@a.test", bad).exit_code == 1  # refused, old one stays
    assert 'fileinto "X";' in run("sieve", "show", "alice@a.test").output
    listed = json.loads(run("sieve", "list", "alice@a.test", "--json").output)
    assert listed == [{"name": "mailtool", "active": True, "size": len(Path(good).read_bytes())}]
    assert run("sieve", "off", "alice@a.test").exit_code == 0
    assert run("sieve", "show", "alice@a.test").exit_code == 1


def test_unknown_user_is_an_error(run, good):
    result = run("sieve", "set", "nobody@a.test", good)
    assert result.exit_code == 1 and "nobody@a.test" in result.output


def test_promotions_switch(run, scripts):
    assert run("sieve", "promotions", "alice@a.test", "on").exit_code == 0
    assert scripts.settings("alice@a.test") == {"promotions": True}
    run("sieve", "promotions", "alice@a.test", "off")
    assert scripts.settings("alice@a.test") == {"promotions": False}


def test_global_set_show_off(run, good, bad):
    default = run("sieve", "global", "show")
    assert default.exit_code == 0 and "X-Spam-Flag" in default.output
    assert run("sieve", "global", "set", bad).exit_code == 1
    assert run("sieve", "global", "set", good).exit_code == 0
    assert 'fileinto "X"' in run("sieve", "global", "show").output
    assert "removed" in run("sieve", "global", "off").output
    assert "X-Spam-Flag" in run("sieve", "global", "show").output
