"""Config: defaults, the public keys, and errors that name file, key, given and expected."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtool import config as config_mod
from mailtool.cli.main import cli
from mailtool.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch):
    # the suite's DNS guard sets MAILTOOL_NAMESERVERS, which (by design) wins over files
    for name in ("MAILTOOL_NAMESERVERS", "MAILTOOL_DATA_DIR", "MAILTOOL_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailtool.toml"
    path.write_text(text)
    return path


def test_defaults_without_root_use_twin_ports_on_loopback(monkeypatch, tmp_path):
    monkeypatch.setattr(config_mod.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MAILTOOL_DATA_DIR", raising=False)
    monkeypatch.delenv("MAILTOOL_CONFIG", raising=False)
    cfg = config_mod.load()
    assert cfg.data_dir == str(tmp_path / "xdg" / "mailtool")
    assert cfg.listen.enabled() == {
        "smtp": ("127.0.0.1", 2525),
        "submission": ("127.0.0.1", 2587),
        "submissions": ("127.0.0.1", 2465),
        "imap": ("127.0.0.1", 2143),
        "imaps": ("127.0.0.1", 2993),
        "pop3": ("127.0.0.1", 2110),
        "pop3s": ("127.0.0.1", 2995),
        "managesieve": ("127.0.0.1", 24190),
    }
    assert cfg.limits.max_recipients == 100


def test_defaults_as_root_use_standard_ports(monkeypatch):
    monkeypatch.setattr(config_mod.os, "geteuid", lambda: 0)
    cfg = config_mod.from_dict({})
    assert cfg.data_dir == "/var/lib/mailtool"
    assert cfg.listen.enabled()["smtp"] == ("0.0.0.0", 25)
    assert cfg.listen.enabled()["imaps"] == ("0.0.0.0", 993)


def test_public_keys_load(tmp_path):
    path = write(
        tmp_path,
        """
data_dir = "/srv/mail"
hostname = "mx.example.test"
[listen]
smtp = "127.0.0.1:0"
submission = false
imaps = "[::1]:993"
[tls]
cert = "/etc/ssl/mail.crt"
key = "/etc/ssl/mail.key"
[security]
plaintext_auth_on_loopback = true
[dns]
nameservers = ["127.0.0.1:5353", "10.0.0.1"]
""",
    )
    cfg = config_mod.load(path)
    assert cfg.hostname == "mx.example.test"
    enabled = cfg.listen.enabled()
    assert enabled["smtp"] == ("127.0.0.1", 0)
    assert "submission" not in enabled
    assert enabled["imaps"] == ("::1", 993)
    assert cfg.tls.cert == "/etc/ssl/mail.crt"
    assert cfg.security.plaintext_auth_on_loopback is True
    assert cfg.dns.nameservers == ("127.0.0.1:5353", "10.0.0.1")


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("data_dir = 3", "data_dir", "given 3, expected a string"),
        ("bogus = 1", "bogus", "unknown key"),
        ('[limits]\nmax_recipients = "ten"', "limits.max_recipients", "expected an integer"),
        ("[limits]\nmax_recipients = 0", "limits.max_recipients", "expected at least 1"),
        ('[listen]\nsmtp = "localhost"', "listen.smtp", 'expected "HOST:PORT"'),
        ('[listen]\nsmtp = "127.0.0.1:70000"', "listen.smtp", "PORT 0-65535"),
        ("[listen]\nsmtp = true", "listen.smtp", "expected"),
        (
            "[security]\nplaintext_auth_on_loopback = 1",
            "security.plaintext_auth_on_loopback",
            "expected true or false",
        ),
        ('[dns]\nnameservers = "1.1.1.1"', "dns.nameservers", "expected a list of strings"),
        ('[tls]\ncert = "/x.crt"', "tls", "together"),
        ("listen = 3", "listen", "table"),
    ],
)
def test_errors_name_file_key_given_expected(tmp_path, text, key, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert fragment in message


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(write(tmp_path, "data_dir = "))
    with pytest.raises(ConfigError, match="file not found"):
        config_mod.load(tmp_path / "nope.toml")


def test_env_overrides(monkeypatch, tmp_path):
    path = write(tmp_path, 'data_dir = "/from/file"\n[dns]\nnameservers = ["1.2.3.4"]\n')
    monkeypatch.setenv("MAILTOOL_CONFIG", str(path))
    monkeypatch.setenv("MAILTOOL_DATA_DIR", "/from/env")
    monkeypatch.setenv("MAILTOOL_NAMESERVERS", "127.0.0.1:5300, 127.0.0.2:53")
    cfg = config_mod.load()
    assert cfg.data_dir == "/from/env"
    assert cfg.dns.nameservers == ("127.0.0.1:5300", "127.0.0.2:53")
    # the global --data-dir wins over both
    assert config_mod.load(data_dir="/from/flag").data_dir == "/from/flag"


def test_show_prints_toml_that_loads_back_to_the_same_config(tmp_path):
    path = write(tmp_path, 'hostname = "mx.test"\n[limits]\nmax_recipients = 7\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "show"])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    assert shown["hostname"] == "mx.test"
    assert shown["limits"]["max_recipients"] == 7
    assert shown["limits"]["max_message_size"] == 50 * 1024 * 1024  # defaults filled in
    assert config_mod.from_dict(shown) == config_mod.load(path)


def test_check_exits_2_naming_the_key(tmp_path):
    bad = write(tmp_path, "[limits]\nsmtp_idle_timeout = -1\n")
    result = CliRunner().invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "limits.smtp_idle_timeout" in result.output
    good = tmp_path / "good.toml"
    good.write_text('hostname = "a.test"\n')
    result = CliRunner().invoke(cli, ["config", "check", str(good)])
    assert result.exit_code == 0
    assert "OK" in result.output


def test_client_accounts(tmp_path):
    path = write(
        tmp_path,
        """
[accounts.work]
email = "alice@a.test"
imap = "mail.a.test:993"
smtp = "mail.a.test:465"
password_command = "pass show mail"
[accounts.home]
email = "al@b.test"
imap_tls = "starttls"
verify_tls = false
""",
    )
    cfg = config_mod.load(path)
    assert set(cfg.accounts) == {"work", "home"}
    assert cfg.accounts["work"].imap == "mail.a.test:993"
    assert cfg.accounts["work"].imap_tls == "tls"
    assert cfg.accounts["home"].imap_tls == "starttls"
    assert cfg.accounts["home"].verify_tls is False
    shown = tomllib.loads(config_mod.to_toml(cfg))
    assert shown["accounts"]["work"]["password_command"] == "pass show mail"
    bad = write(tmp_path, '[accounts.x]\nimap_tls = "ssl"\n')
    with pytest.raises(ConfigError, match=r"accounts\.x\.imap_tls.*expected one of"):
        config_mod.load(bad)
