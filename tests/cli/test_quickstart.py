"""``mailtool quickstart``: in temp dirs, as a non-root user would run it (the root
paths are unit-tested on the plan and the config text: the suite must not add users)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mailtool import config as config_mod
from mailtool import quickstart as qs
from mailtool.cli.main import cli
from mailtool.mta.authn.keys import load_keys
from mailtool.store.accounts import AccountStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(config_mod.ENV_SYSTEM_CONFIG, str(tmp_path / "etc" / "mailtool.toml"))
    monkeypatch.delenv(config_mod.ENV_CONFIG, raising=False)
    monkeypatch.delenv(config_mod.ENV_DATA_DIR, raising=False)
    monkeypatch.setattr("mailtool.privsep.is_root", lambda: False)
    return tmp_path


def quickstart(home: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--data-dir", str(home / "data"), "quickstart", *args], input=input,
        catch_exceptions=False,
    )  # fmt: skip


def user_config(home: Path) -> Path:
    return home / "xdg" / "mailtool" / "mailtool.toml"


def test_quickstart_sets_everything_up(home: Path) -> None:
    result = quickstart(home, "alice@example.test", "--yes", "--password-stdin", input="pw-1\n")
    assert result.exit_code == 0, result.output
    path = user_config(home)
    assert path.stat().st_mode & 0o777 == 0o600
    cfg = config_mod.load(path)
    assert cfg.hostname == "mail.example.test"
    assert cfg.listen.https == "127.0.0.1:2443" and cfg.listen.http == "127.0.0.1:2080"
    assert cfg.tls.acme is False and cfg.tls.acme_email == "alice@example.test"
    data = home / "data"
    assert data.stat().st_mode & 0o777 == 0o700
    store = AccountStore.in_data_dir(data)
    try:
        assert store.domains() == ["example.test"]
        assert store.verify_password("alice@example.test", "pw-1")
        assert store.resolve("postmaster@example.test") == ["alice@example.test"]
    finally:
        store.close()
    assert {k.selector for k in load_keys(data, "example.test")} == {"mailtool", "mailtool-ed25519"}
    out = result.output
    for expected in ("IN MX    10 mail.example.test.", "_mta-sts.example.test.",
                     "mailtool._domainkey.example.test.", "Next steps:"):  # fmt: skip
        assert expected in out
    assert "password for" not in out  # given on stdin: not echoed


def test_every_command_then_reads_the_config_written(home: Path) -> None:
    quickstart(home, "alice@example.test", "--yes", "--password-stdin", input="pw\n")
    runner = CliRunner()
    where = runner.invoke(cli, ["config", "path"], catch_exceptions=False)
    assert where.output.splitlines()[0] == str(user_config(home))
    users = runner.invoke(cli, ["user", "list", "--json"], catch_exceptions=False)
    assert "alice@example.test" in users.output  # data_dir came from the config


def test_a_generated_password_is_shown_once(home: Path) -> None:
    first = quickstart(home, "bob@example.test", "--yes")
    line = next(li for li in first.output.splitlines() if li.startswith("password for"))
    password = line.rpartition(": ")[2]
    assert len(password) == qs.PASSWORD_LENGTH
    store = AccountStore.in_data_dir(home / "data")
    try:
        assert store.verify_password("bob@example.test", password)
    finally:
        store.close()
    again = quickstart(home, "bob@example.test", "--yes")
    assert "password for" not in again.output


def test_rerunning_never_overwrites(home: Path) -> None:
    quickstart(home, "alice@example.test", "--yes", "--password-stdin", input="first\n")
    path = user_config(home)
    path.write_text(path.read_text() + "# the admin's own edit\n")
    key_file = home / "data" / "dkim"
    before = {p: p.read_bytes() for p in key_file.rglob("*") if p.is_file()}
    result = quickstart(home, "alice@example.test", "--yes", "--password-stdin", input="second\n")
    assert result.exit_code == 0
    assert path.read_text().endswith("# the admin's own edit\n")
    assert {p: p.read_bytes() for p in key_file.rglob("*") if p.is_file()} == before
    store = AccountStore.in_data_dir(home / "data")
    try:
        assert store.verify_password("alice@example.test", "first")
    finally:
        store.close()
    for what in ("config", "domain", "user", "postmaster", "DKIM keys"):
        assert any(li.startswith(what) and " kept " in li for li in result.output.splitlines())


def test_a_second_domain_on_the_same_config(home: Path) -> None:
    quickstart(home, "alice@a.test", "--yes", "--password-stdin", input="a\n")
    result = quickstart(home, "bob@b.test", "--yes", "--password-stdin", input="b\n")
    assert any(li.startswith("domain") and "created" in li for li in result.output.splitlines())
    store = AccountStore.in_data_dir(home / "data")
    try:
        assert sorted(store.domains()) == ["a.test", "b.test"]
    finally:
        store.close()
    # the server keeps its one host name: b.test's records point there, and its policy too
    assert re.search(r"^b\.test\.\s+3600 IN MX\s+10 mail\.a\.test\.$", result.output, re.M)
    assert ";   mx: mail.a.test" in result.output and "mail.b.test" not in result.output


def test_interactive(home: Path) -> None:
    # address, host name (default taken), go on
    result = quickstart(home, input="carol@example.test\n\ny\n")
    assert result.exit_code == 0, result.output
    assert "Mail host name" in result.output and "Go on?" in result.output
    assert config_mod.load(user_config(home)).hostname == "mail.example.test"


def test_saying_no_changes_nothing(home: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(home / "data"), "quickstart",
                                      "carol@example.test"], input="\nn\n")  # fmt: skip
    assert result.exit_code == 1  # click's Abort
    assert not user_config(home).exists() and not (home / "data").exists()


def test_a_bad_address_is_refused(home: Path) -> None:
    result = CliRunner().invoke(cli, ["quickstart", "not-an-address", "--yes"])
    assert result.exit_code == 2 and "expected an address" in result.output


def test_check_lists_the_missing_records(home: Path) -> None:
    """The suite's resolver (conftest's DNS guard) knows no name: everything is missing."""
    quickstart(home, "alice@example.test", "--yes", "--password-stdin", input="pw\n")
    result = CliRunner().invoke(cli, ["quickstart", "--check"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("example.test:") and "missing or not right yet" in result.output
    assert "routing." in result.output


def test_root_plan_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config_mod.ENV_SYSTEM_CONFIG, raising=False)
    plan = qs.make_plan("Alice@Example.COM", root=True)
    assert plan.config_path == Path("/etc/mailtool/mailtool.toml")
    assert plan.data_dir == Path("/var/lib/mailtool")
    assert (plan.address, plan.hostname, plan.acme) == (
        "alice@example.com",
        "mail.example.com",
        True,
    )
    text = qs.render_config(plan)
    data = tomllib.loads(text)
    assert data["listen"]["smtp"] == "0.0.0.0:25" and data["listen"]["https"] == "0.0.0.0:443"
    assert data["listen"]["http"] == "0.0.0.0:80"
    assert data["tls"] == {"acme": True, "acme_email": "alice@example.com"}
    assert data["server"]["user"] == "mailtool"
    config_mod.from_dict(data)  # valid as written
    # readable by the service user the systemd unit runs serve as (no secret in it)
    plan.config_path = tmp_path / "etc" / "mailtool.toml"
    qs.write_config(plan, qs.Outcome())
    assert plan.config_path.stat().st_mode & 0o777 == 0o644
    assert qs.make_plan("a@b.example", root=False, acme=True).acme is True
