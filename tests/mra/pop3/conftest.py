"""Fixtures for the POP3 server tests.

One real ``mailtool serve`` per module (starting one costs about a second;
the suite has a 15-minute budget), a fresh user per test so tests never share
a maildrop, and messages put into INBOX through the store, as the MDA does.
"""

from __future__ import annotations

import itertools
import poplib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.mra import stores

PASSWORD = "correct horse"
DOMAIN = "pop.test"
_users = itertools.count(1)


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(n: int, extra: bytes = b"") -> bytes:
    """A small CRLF message whose bytes say which one it is."""
    return (
        f"From: sender@example.test\r\nTo: someone@{DOMAIN}\r\nSubject: message {n}\r\n"
        f"Message-ID: <m{n}@example.test>\r\n\r\nBody of message {n}.\r\n"
    ).encode() + extra


class POP3From(poplib.POP3):
    """poplib from a chosen loopback source address (the login throttle is per IP)."""

    def __init__(self, host: str, port: int, source: str, timeout: float = 30) -> None:
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout, (self._source, 0))


class Pop3Env:
    """A started server, its stores (opened in the test process, on the server's
    backend) and client helpers."""

    def __init__(self, server: MailtoolServer) -> None:
        self.server = server
        self.accounts = stores.server_stores(server).accounts
        if DOMAIN not in self.accounts.domains():
            self.accounts.add_domain(DOMAIN)
        self.mail = stores.server_stores(server).mail

    def close(self) -> None:
        stores.close_stores(self.server)

    @property
    def port(self) -> int:
        return self.server.port("pop3")

    @property
    def tls_port(self) -> int:
        return self.server.port("pop3s")

    def new_user(self, messages: int = 0) -> str:
        user = f"u{next(_users)}@{DOMAIN}"
        self.accounts.add_user(user, PASSWORD)
        for n in range(1, messages + 1):
            self.deliver(user, message(n))
        return user

    def deliver(self, user: str, data: bytes) -> int:
        return self.mail.user(user).deliver(data)

    def inbox(self, user: str) -> Any:
        return self.mail.user(user).folder("INBOX")

    def plain(self, source: str | None = None) -> poplib.POP3:
        if source:
            return POP3From("127.0.0.1", self.port, source)
        return poplib.POP3("127.0.0.1", self.port, timeout=30)

    def tls(self) -> poplib.POP3_SSL:
        return poplib.POP3_SSL("127.0.0.1", self.tls_port, context=client_tls(), timeout=30)

    def login(self, user: str, *, stls: bool = True) -> poplib.POP3:
        """USER/PASS after STLS on 110 (or over 995 when ``stls`` is False)."""
        if stls:
            pop = self.plain()
            pop.stls(client_tls())
        else:
            pop = self.tls()
        pop.user(user)
        pop.pass_(PASSWORD)
        return pop

    def login_after_drop(self, user: str, tries: int = 50) -> poplib.POP3:
        """Log in once the server noticed a dropped session (it releases the lock when it
        reads EOF, which races with our next connection)."""
        for _ in range(tries):
            try:
                return self.login(user)
            except poplib.error_proto as exc:
                if b"[IN-USE]" not in exc.args[0]:
                    raise
                time.sleep(0.1)
        raise AssertionError(f"{user}'s maildrop stayed locked")

    def is_alive(self) -> bool:
        """A fresh connection gets the greeting and answers CAPA."""
        pop = self.plain()
        try:
            return pop.getwelcome().startswith(b"+OK") and "TOP" in pop.capa()
        finally:
            pop.quit()


def start_env(tmp: Path, request: pytest.FixtureRequest, **config: Any) -> Iterator[Pop3Env]:
    """A server on the backend ``request.param`` names (:mod:`tests.mra.stores`)."""
    server = MailtoolServer(
        tmp, services=("pop3", "pop3s", "imaps"), config=stores.backend_config(request, config)
    ).start()
    try:
        yield Pop3Env(server)
    finally:
        stores.stop_server(server)


@pytest.fixture(scope="module", params=stores.BACKENDS)
def pop3_env(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Pop3Env]:
    """Default policy: no plaintext passwords without TLS, even on loopback."""
    yield from start_env(tmp_path_factory.mktemp("pop3"), request)


#: small bounds, so tests can exceed each of them quickly
LENIENT = {
    "security": {"plaintext_auth_on_loopback": True, "max_login_failures_per_ip": 3},
    "limits": {"pop3_idle_timeout": 2.0, "max_bad_commands": 4, "max_line_length": 1024},
}


@pytest.fixture(scope="module", params=stores.BACKENDS)
def pop3_lenient(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Pop3Env]:
    """Plaintext passwords allowed on loopback, and small limits (idle 2 s, 4 bad commands,
    3 failed logins per IP per minute, 1024-octet lines)."""
    yield from start_env(tmp_path_factory.mktemp("pop3-lenient"), request, **LENIENT)
