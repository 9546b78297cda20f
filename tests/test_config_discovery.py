"""Config discovery: with neither --config nor MAILTOOL_CONFIG, every command reads
``$XDG_CONFIG_HOME/mailtool/mailtool.toml``, then ``/etc/mailtool/mailtool.toml``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtool import config as config_mod
from mailtool.cli.main import cli


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    user = tmp_path / "xdg" / "mailtool" / "mailtool.toml"
    system = tmp_path / "etc" / "mailtool.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(config_mod.ENV_SYSTEM_CONFIG, str(system))
    monkeypatch.delenv(config_mod.ENV_CONFIG, raising=False)
    return user, system


def _write(path: Path, hostname: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'hostname = "{hostname}"\n')


def test_defaults_when_no_file_exists(places: tuple[Path, Path]) -> None:
    cfg = config_mod.load()
    assert cfg.source is None


def test_system_file_is_read(places: tuple[Path, Path]) -> None:
    _write(places[1], "system.test")
    cfg = config_mod.load()
    assert (cfg.hostname, cfg.source) == ("system.test", str(places[1]))


def test_user_file_comes_first(places: tuple[Path, Path]) -> None:
    _write(places[0], "user.test")
    _write(places[1], "system.test")
    assert config_mod.load().hostname == "user.test"


def test_env_and_option_win_over_discovery(
    places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(places[0], "user.test")
    given = tmp_path / "given.toml"
    _write(given, "given.test")
    assert config_mod.load(given).hostname == "given.test"
    monkeypatch.setenv(config_mod.ENV_CONFIG, str(given))
    assert config_mod.load().hostname == "given.test"


def test_default_user_path_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_mod.user_config_path() == tmp_path / ".config" / "mailtool" / "mailtool.toml"
    monkeypatch.delenv(config_mod.ENV_SYSTEM_CONFIG, raising=False)
    assert config_mod.system_config_path() == Path("/etc/mailtool/mailtool.toml")


def test_commands_use_the_discovered_file(places: tuple[Path, Path]) -> None:
    _write(places[1], "system.test")
    runner = CliRunner()
    shown = runner.invoke(cli, ["config", "show"], catch_exceptions=False)
    assert 'hostname = "system.test"' in shown.output
    where = runner.invoke(cli, ["config", "path"], catch_exceptions=False)
    assert where.output.splitlines()[0] == str(places[1])
    assert f"searched {places[0]} (missing)" in where.output
    assert f"searched {places[1]} (exists)" in where.output


def test_a_broken_discovered_file_is_named(places: tuple[Path, Path]) -> None:
    places[0].parent.mkdir(parents=True)
    places[0].write_text("hostname = [\n")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 2
    assert str(places[0]) in result.output
