"""The ready-to-paste [accounts.NAME] table (issue 21 point 22): printed by ``user add`` and
serve's panel, and a client configured with it reads and sends mail on this server."""

from __future__ import annotations

import asyncio
import tomllib

from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.client.account import load_account
from mailtool.client.imap import ImapClient
from mailtool.config import from_dict, load
from mailtool.web.account_table import account_table
from tests.harness import MailtoolServer


def test_user_add_prints_a_table_the_client_config_accepts(tmp_path):
    config = tmp_path / "mailtool.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nhostname = "mx.example.test"\n'
                      '[listen]\nimaps = "0.0.0.0:993"\nsubmissions = "0.0.0.0:465"\n')
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "domain", "add", "example.test"]
                         ).exit_code == 0
    result = runner.invoke(cli, ["--config", str(config), "user", "add", "alice@example.test",
                                 "--password-stdin"], input="pw\n")
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("[accounts."):]
    account = load_account(from_dict(tomllib.loads(table)), None)
    assert account.email == "alice@example.test"
    assert (account.imap.host, account.imap.port, account.imap.tls) == (
        "mx.example.test", 993, "tls")
    assert (account.smtp.host, account.smtp.port, account.smtp.tls) == (
        "mx.example.test", 465, "tls")
    assert account.imap.cafile.endswith("tls/selfsigned.crt")  # verified, not switched off


def test_the_table_for_a_running_server_logs_in_with_verification(tmp_path):
    server = MailtoolServer(tmp_path / "srv", services=("imaps", "submissions")).start()
    try:
        server.add_user("alice@example.test", "pw")
        cfg = load(server.config_path)
        table = account_table(cfg, "alice@example.test", bound=server.listeners)
        assert 'imap = "localhost:' in table  # loopback listeners: the name the cert has
        account = load_account(from_dict(tomllib.loads(table)), None)
        assert account.imap.verify

        async def login() -> list[str]:
            client = ImapClient(account.imap)
            await client.connect(account.username, "pw")
            try:
                return [f.name for f in await client.list_folders()]
            finally:
                await client.close()

        assert "INBOX" in asyncio.run(login())
    finally:
        server.stop()
