"""``mailtool domain|user|alias``: CliRunner for behaviour, subprocesses for concurrency;
on both backends (a config with ``[store] url`` runs every command on PostgreSQL) unless
a test looks at the data dir's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def config(backend, tmp_path, request):
    """The config file: the data dir, or a PostgreSQL database (schema made)."""
    path = tmp_path / "mailtool.toml"
    text = f'data_dir = "{tmp_path}"\n'
    if backend == "postgresql":
        text += f'[store]\nurl = "{request.getfixturevalue("pg_database").url}"\n'
    path.write_text(text)
    return path


@pytest.fixture
def accounts(config):
    """The accounts as a server on this config sees them."""
    from mailtool.config import load
    from mailtool.store.backends import Stores

    stores = Stores(load(config))
    yield stores.accounts
    stores.close()


@pytest.fixture
def run(config):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)

    return invoke


def test_domain_add_list_remove(run):
    assert run("domain", "add", "Example.TEST").exit_code == 0
    result = run("domain", "list", "--json")
    assert json.loads(result.output) == [{"domain": "example.test", "users": 0, "aliases": 0}]
    assert "example.test" in run("domain", "list").output
    again = run("domain", "add", "example.test")
    assert again.exit_code == 1 and "exists already" in again.output
    assert run("domain", "remove", "example.test").exit_code == 0
    assert json.loads(run("domain", "list", "--json").output) == []


def test_user_add_with_password_on_stdin_then_login_works(run, tmp_path, accounts, backend):
    run("domain", "add", "a.test")
    result = run("user", "add", "alice@a.test", "--password-stdin", input="s3cret pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert accounts.verify_password("alice@a.test", "s3cret pass")
    if backend == "sqlite":
        assert (tmp_path / "mail/a.test/alice/.Sent/cur").is_dir()


def test_user_add_prompts_hidden_and_confirmed(run, accounts):
    run("domain", "add", "a.test")
    bad = run("user", "add", "bob@a.test", input="one\ntwo\none\none\n")
    assert bad.exit_code == 0, bad.output
    assert "one" not in bad.output.replace("Password", "")
    assert accounts.verify_password("bob@a.test", "one")


def test_password_is_never_a_command_line_argument(run):
    run("domain", "add", "a.test")
    result = run("user", "add", "alice@a.test", "--password", "x")
    assert result.exit_code == 2 and "No such option" in result.output


def test_user_on_unknown_domain_says_what_to_do(run):
    result = run("user", "add", "x@b.test", "--password-stdin", input="pw\n")
    assert result.exit_code == 1
    assert "mailtool domain add b.test" in result.output


@pytest.mark.parametrize("backend", ["sqlite"])  # fills the Maildir by hand
def test_user_list_shows_use_and_quota(run, tmp_path):
    run("domain", "add", "a.test")
    run("user", "add", "alice@a.test", "--password-stdin", "--storage", "1M", input="pw\n")
    (tmp_path / "mail/a.test/alice/new/1.x.host,S=5").write_bytes(b"hello")
    from mailtool.store.mailstore import MailStore

    MailStore(tmp_path).user("alice@a.test").folder("INBOX").sync(force=True)
    [row] = json.loads(run("user", "list", "--json").output)
    assert row == {
        "address": "alice@a.test",
        "messages": 1,
        "bytes": 5,
        "quota_messages": None,
        "quota_bytes": 1024 * 1024,
    }
    table = run("user", "list").output
    assert "alice@a.test" in table and "1 / ∞" in table


def test_user_quota_passwd_remove(run, tmp_path, accounts, backend):
    run("domain", "add", "a.test")
    run("user", "add", "alice@a.test", "--password-stdin", input="pw\n")
    result = run("user", "quota", "alice@a.test", "--messages", "100", "--json")
    assert json.loads(result.output)["quota_messages"] == 100
    assert "limit 100" in run("user", "quota", "alice@a.test").output
    bad = run("user", "quota", "alice@a.test", "--storage", "lots")
    assert bad.exit_code == 2
    assert run("user", "passwd", "alice@a.test", "--password-stdin", input="new\n").exit_code == 0
    assert accounts.verify_password("alice@a.test", "new")
    kept = run("user", "remove", "alice@a.test")
    assert kept.exit_code == 0 and "mail kept" in kept.output
    files = backend == "sqlite"  # on PostgreSQL the mail rows: tests/store/pg/test_accounts.py
    assert not files or (tmp_path / "mail/a.test/alice").is_dir()
    run("user", "add", "bob@a.test", "--password-stdin", input="pw\n")
    refused = run("user", "remove", "bob@a.test", "--purge", input="n\n")
    assert refused.exit_code == 1 and accounts.get_user("bob@a.test")
    assert not files or (tmp_path / "mail/a.test/bob").is_dir()
    assert run("user", "remove", "bob@a.test", "--purge", "--yes").exit_code == 0
    assert not files or not (tmp_path / "mail/a.test/bob").exists()
    assert run("user", "passwd", "bob@a.test", "--password-stdin", input="x\n").exit_code == 1


def test_alias_add_list_remove(run):
    run("domain", "add", "a.test")
    run("user", "add", "alice@a.test", "--password-stdin", input="pw\n")
    assert run("alias", "add", "info@a.test", "alice@a.test", "x@remote.test").exit_code == 0
    assert run("alias", "add", "@a.test", "alice@a.test").exit_code == 0
    data = json.loads(run("alias", "list", "--json").output)
    assert data == [
        {"source": "@a.test", "targets": ["alice@a.test"]},
        {"source": "info@a.test", "targets": ["alice@a.test", "x@remote.test"]},
    ]
    assert "info@a.test" in run("alias", "list", "a.test").output
    assert run("alias", "remove", "info@a.test", "x@remote.test").exit_code == 0
    assert run("alias", "remove", "info@a.test").exit_code == 0
    assert run("alias", "remove", "info@a.test").exit_code == 1


def test_concurrent_user_add_processes(tmp_path, config, accounts):
    env = {**os.environ, "MAILTOOL_CONFIG": str(config)}
    mailtool = [sys.executable, "-m", "mailtool"]
    subprocess.run([*mailtool, "domain", "add", "a.test"], env=env, check=True)
    procs = [
        subprocess.Popen(
            [*mailtool, "user", "add", f"u{i}@a.test", "--password-stdin"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    outs = [p.communicate(b"pw\n", timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outs
    assert [u.address for u in accounts.users()] == [f"u{i}@a.test" for i in range(8)]
    assert all(accounts.verify_password(f"u{i}@a.test", "pw") for i in (0, 7))
