"""Fixtures shared by the whole suite: real servers, real DNS, real certificates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.peers.dnsmasq import DnsServer


@pytest.fixture
def mailtool_server(tmp_path: Path) -> Iterator[Callable[..., MailtoolServer]]:
    """Factory: ``mailtool_server(services=..., config=...)`` starts a real server.

    Every server started through it is stopped at the end of the test, and must
    exit 0 (a clean SIGTERM shutdown is part of every test's contract).
    """
    started: list[MailtoolServer] = []

    def start(name: str = "mt", **kwargs: Any) -> MailtoolServer:
        server = MailtoolServer(tmp_path / name, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        code = server.stop()
        assert code == 0, f"mailtool serve exited {code} on SIGTERM:\n{server.log()}"


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[Callable[..., DnsServer]]:
    """Factory: ``dns_server(records)`` starts dnsmasq on loopback serving ``*.test`` records."""
    started: list[DnsServer] = []

    def start(records: list[str], host: str = "127.0.0.1") -> DnsServer:
        server = DnsServer(tmp_path / f"dns{len(started)}", records, host).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def certificate_authority() -> Any:
    """A trustme CA for tests that need a real chain."""
    import trustme

    return trustme.CA()
