"""Fixtures for the IMAP server tests: a real ``mailtool serve`` with imap + imaps
and a user, plus small imaplib helpers."""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.mra import stores
from tests.mra.imap.wireclient import Wire

USER = "alice@example.test"
_ids = itertools.count(1)
PASSWORD = "correct horse"


def add_user(server: MailtoolServer, address: str = USER, password: str = PASSWORD) -> None:
    """Create a user directly in the server's account store, on its backend (the CLI
    costs a process start per call; SQLite in WAL mode is safe across processes)."""
    stores.add_user(server, address, password)


@contextlib.contextmanager
def store_user_mail(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                    inbox: Iterable[bytes]) -> Iterator[Any]:  # fmt: skip
    """The IMAP view of one user over a store of the backend, without a server, with
    ``inbox`` appended (tests of what the view reads and caches)."""
    from mailtool.mra.imap.store_adapter import StoreUserMail
    from mailtool.store.mailstore import MailStore

    if store_backend == "sqlite":
        store: Any = MailStore(tmp_path)
        closing: list[Any] = []
    else:
        from mailtool.store.pg.db import Database
        from mailtool.store.pg.mailstore import PgMailStore

        db = Database(request.getfixturevalue("pg_database").url, pool_size=2)
        store = PgMailStore(db)
        closing = [db]
    user = StoreUserMail(store, "ann@example.test")
    for data in inbox:
        user.append("INBOX", data, [], None)
    try:
        yield user
    finally:
        for item in closing:
            item.close()


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Imap:
    """A started server, the test's user, and ways to talk to it."""

    def __init__(self, server: MailtoolServer, user: str = USER) -> None:
        self.server = server
        self.user = user

    @property
    def backend(self) -> str:
        """The server's store backend: "sqlite" or "postgresql"."""
        return "postgresql" if self.server.store_url else "sqlite"

    @property
    def port(self) -> int:
        return self.server.port("imap")

    @property
    def tls_port(self) -> int:
        return self.server.port("imaps")

    def plain(self) -> imaplib.IMAP4:
        return imaplib.IMAP4("127.0.0.1", self.port, timeout=30)

    def connect(self, user: str | None = None, password: str = PASSWORD) -> imaplib.IMAP4:
        """Logged in over IMAPS."""
        c = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=client_tls(), timeout=30)
        c.login(user or self.user, password)
        return c

    def wire(self, *, login: bool = True) -> Wire:
        """A raw connection over IMAPS, logged in unless told otherwise."""
        w = Wire(self.tls_port, tls=True)
        if login:
            assert w.login(self.user, PASSWORD).status == "OK"
        return w

    def take_recent(self, folder: str = "INBOX") -> None:
        """Let a throwaway session SELECT ``folder``: it takes the messages' ``\\Recent``
        (RFC 3501 §2.3.2), so a test about something else sees plain flags."""
        w = self.wire()
        assert w.cmd(f"SELECT {folder}").status == "OK"
        w.close()

    def mail(self, user: str | None = None) -> Any:
        """The user's mail on the server's backend, opened in this (test) process (another
        process, like the CLI or an SMTP worker), for direct fills."""
        return stores.server_stores(self.server).mail.user(user or self.user, create=True)

    @property
    def accounts(self) -> Any:
        """The server's account store, opened in this (test) process."""
        return stores.server_stores(self.server).accounts


@pytest.fixture
def imap_server(mailtool_server: Callable[..., MailtoolServer]) -> Iterator[Callable[..., Imap]]:
    """Factory: ``imap_server(config={...})`` -> :class:`Imap` with user alice."""

    started: list[MailtoolServer] = []

    def start(config: dict[str, Any] | None = None, **kwargs: Any) -> Imap:
        server = mailtool_server(services=("imap", "imaps", "smtp"), config=config or {}, **kwargs)
        started.append(server)
        add_user(server)
        return Imap(server)

    yield start
    for server in started:
        stores.close_stores(server)


@pytest.fixture(scope="module", params=stores.BACKENDS)
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[MailtoolServer]:
    """One server for a whole test module (start-up costs ~1.5 s) on each store backend;
    tests get fresh users."""
    server = MailtoolServer(
        tmp_path_factory.mktemp("imap"), services=("imap", "imaps", "smtp"),
        config=stores.backend_config(request),
    ).start()
    yield server
    stores.stop_server(server)


@pytest.fixture
def imap(shared_server: MailtoolServer, request: pytest.FixtureRequest) -> Imap:
    """The module's server with a user of this test's own (no state leaks between tests)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.originalname.lower())[-40:].strip("-")
    user = f"{name}-{next(_ids)}@example.test"
    add_user(shared_server, user)
    return Imap(shared_server, user)


@pytest.fixture
def client(imap: Imap) -> Iterator[imaplib.IMAP4]:
    c = imap.connect()
    yield c
    try:
        c.logout()
    except (imaplib.IMAP4.abort, OSError):
        pass


def message(
    subject: str = "hello", body: str = "Hi there.", sender: str = "bob@example.test"
) -> bytes:
    return (
        f"From: Bob <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
        f"\r\n{body}\r\n"
    ).encode()
