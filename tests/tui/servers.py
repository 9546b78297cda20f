"""Real mail servers on loopback for the client and TUI tests, one interface for all.

``mail_server`` is parametrized by server: Debian's Dovecot (the "any standard
server" claim) and our own ``mailtool serve``. With Dovecot, SMTP submission is
a small aiosmtpd server that files each message into the recipient's INBOX by
IMAP APPEND (so "send, see it arrive" goes over real SMTP and real IMAP); with
``mailtool serve`` it is the real submission service.

Every UI action is checked through :meth:`TestServer.check`, a stdlib
``imaplib`` connection: a client nobody here wrote.
"""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port
from tests.peers.dovecot import Dovecot

USER = "alice@example.test"
PASSWORD = "pw"
OTHER = "bob@example.test"
USERS = {USER: PASSWORD, OTHER: PASSWORD}
MAILTOOL_IMAP = Path(__file__).resolve().parents[2] / "mailtool" / "mra" / "imap" / "service.py"


class SmtpToImap:
    """An aiosmtpd submission server that APPENDs each message into Dovecot.

    ``reject_with`` (e.g. ``"554 5.7.1 no"``) makes DATA fail, for the
    never-lose tests.
    """

    def __init__(self, imap_port: int) -> None:
        from aiosmtpd.controller import Controller

        self.imap_port = imap_port
        self.reject_with: str | None = None
        self.received: list[bytes] = []
        # aiosmtpd's Controller probes its own port, so it cannot take port 0
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        # like a real submission server: a recipient without a domain is refused at RCPT
        if "@" not in address:
            return "501 5.1.3 bad recipient address syntax"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject_with:
            return self.reject_with
        data = envelope.original_content or envelope.content
        self.received.append(data)
        for rcpt in envelope.rcpt_tos:
            if rcpt.lower() in USERS:
                imap = imaplib.IMAP4("127.0.0.1", self.imap_port)
                imap.login(rcpt.lower(), USERS[rcpt.lower()])
                imap.append("INBOX", None, None, data)
                imap.logout()
        return "250 2.0.0 OK queued"

    def start(self) -> SmtpToImap:
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self.controller.port

    def stop(self) -> None:
        self.controller.stop()


class TestServer:
    """What a test needs from a mail server, whichever it is."""

    kind = ""
    imap_port = 0
    smtp_port = 0
    smtp_tls = "none"
    imap_tls = "none"

    def check(self, user: str = USER) -> imaplib.IMAP4:
        """An independent imaplib connection, logged in."""
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port)
        imap.login(user, USERS[user])
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX", user: str = USER) -> None:
        imap = self.check(user)
        typ, _ = imap.append(folder, None, None, raw)
        assert typ == "OK"
        imap.logout()

    def uids(self, folder: str = "INBOX", query: str = "ALL") -> list[int]:
        imap = self.check()
        imap.select(f'"{folder}"')
        _typ, data = imap.uid("SEARCH", query)
        imap.logout()
        return [int(x) for x in data[0].split()]

    def account_toml(self, name: str = "alice", user: str = USER) -> str:
        return (
            f"[accounts.{name}]\n"
            f'email = "{user}"\nname = "Alice"\n'
            f'imap = "127.0.0.1:{self.imap_port}"\nimap_tls = "{self.imap_tls}"\n'
            f'smtp = "127.0.0.1:{self.smtp_port}"\nsmtp_tls = "{self.smtp_tls}"\n'
            f"password_command = \"echo {USERS[user]}\"\n"
        )

    def drop_connections(self) -> None:
        raise NotImplementedError

    def failing_recipient(self) -> str:
        """A recipient the submission server will refuse (for the never-lose tests)."""
        raise NotImplementedError

    def wait_for(self, user: str, query: str, folder: str = "INBOX",
                 patience: float = 20.0) -> list[bytes]:
        """UIDs matching ``query`` once delivery (possibly queued) has happened."""
        deadline = time.monotonic() + patience
        while True:
            imap = self.check(user)
            imap.select(folder)
            found = imap.uid("SEARCH", query)[1][0].split()
            imap.logout()
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


class DovecotServer(TestServer):
    kind = "dovecot"

    def __init__(self, tmp: Path) -> None:
        self.dovecot = Dovecot(tmp / "dovecot", users=USERS, pop3=False).start()
        self.imap_port = self.dovecot.imap_port
        self.smtp = SmtpToImap(self.imap_port).start()
        self.smtp_port = self.smtp.port

    def drop_connections(self) -> None:
        """Every IMAP session of every user is disconnected (as on a server restart)."""
        conf = self.dovecot.conf_dir / "dovecot.conf"
        subprocess.run(["doveadm", "-c", str(conf), "kick", "*"], check=False,
                       capture_output=True, timeout=30)

    def failing_recipient(self) -> str:
        self.smtp.reject_with = "554 5.7.1 not today"
        return OTHER

    def stop(self) -> None:
        self.smtp.stop()
        self.dovecot.stop()


class OurServer(TestServer):
    """``mailtool serve`` (subprocess) with alice and bob; submission delivers for real."""

    kind = "mailtool"

    def __init__(self, tmp: Path) -> None:
        from tests.harness import MailtoolServer

        self.server = MailtoolServer(
            tmp / "mailtool", services=("imap", "submission"),
            config={"security": {"plaintext_auth_on_loopback": True,
                                 "login_failure_delay": 0.1}},
        ).start()
        for user, password in USERS.items():
            self.server.add_user(user, password)
        self._ports()

    def _ports(self) -> None:
        self.imap_port = self.server.port("imap")
        self.smtp_port = self.server.port("submission")

    def drop_connections(self) -> None:
        """Restart the server on the same ports (clients must reconnect and resync)."""
        self.server.config["listen"] = {
            **self.server.config["listen"],
            "imap": f"127.0.0.1:{self.imap_port}",
            "submission": f"127.0.0.1:{self.smtp_port}",
        }
        code = self.server.stop()
        assert code == 0, self.server.log()
        self.server.start()
        self._ports()

    def failing_recipient(self) -> str:
        return "nobody@example.test"  # no such local user: refused at RCPT

    def stop(self) -> None:
        code = self.server.stop()
        assert code == 0, f"mailtool serve exited {code}:\n{self.server.log()}"


@contextlib.contextmanager
def start_server(kind: str, tmp: Path, mailtool_server: Any = None) -> Iterator[TestServer]:
    if kind == "dovecot":
        server = DovecotServer(tmp)
        try:
            yield server
        finally:
            server.stop()
        return
    if kind == "mailtool":
        if not MAILTOOL_IMAP.exists():
            pytest.skip("mailtool serve has no IMAP service yet")
        ours = OurServer(tmp)
        try:
            yield ours
        finally:
            ours.stop()
        return
    raise AssertionError(kind)


def server_params() -> list[Any]:
    return [
        pytest.param("dovecot", marks=pytest.mark.peer),
        pytest.param("mailtool"),
    ]


@pytest.fixture(params=server_params())
def mail_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestServer]:
    with start_server(request.param, tmp_path) as server:
        yield server


@pytest.fixture
def account_config(
    mail_server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A config file with alice's account on ``mail_server``; XDG dirs in tmp_path."""
    path = tmp_path / "client.toml"
    path.write_text(mail_server.account_toml())
    monkeypatch.setenv("MAILTOOL_CONFIG", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return path
