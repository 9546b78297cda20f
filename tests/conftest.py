"""Fixtures shared by the whole suite: real servers, real DNS, real certificates."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.peers.dnsmasq import DnsServer

#: where in-process code and every `mailtool serve` started by a test send DNS
#: queries unless the test names its own resolver; the system resolver is off limits
#: (tests send traffic to loopback only)
DNS_GUARD_ENV = "MAILTOOL_NAMESERVERS"

# config discovery (mailtool.config.config_search_path) must never find the developer's
# ~/.config/mailtool/mailtool.toml or the machine's /etc/mailtool/mailtool.toml: every
# command (in-process, or a `mailtool serve` subprocess) runs on what the test gives it
_NO_CONFIG_DIR = Path(tempfile.mkdtemp(prefix="mailtool-tests-noconfig-"))
atexit.register(shutil.rmtree, _NO_CONFIG_DIR, True)
os.environ["XDG_CONFIG_HOME"] = str(_NO_CONFIG_DIR / "xdg")
os.environ["MAILTOOL_SYSTEM_CONFIG"] = str(_NO_CONFIG_DIR / "etc" / "mailtool.toml")


@pytest.fixture(scope="session", autouse=True)
def _loopback_dns_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dnsmasq that answers NXDOMAIN for every name, as the default resolver of the run.

    Without dnsmasq (a developer machine without the peers), a closed loopback
    port makes every query fail at once instead.
    """
    previous = os.environ.get(DNS_GUARD_ENV)
    server = None
    if shutil.which("dnsmasq") or os.access("/usr/sbin/dnsmasq", os.X_OK):
        server = DnsServer(tmp_path_factory.mktemp("dns-guard"), ["local=/#/"]).start()
        address = server.address
    else:
        address = "127.0.0.1:9"
    os.environ[DNS_GUARD_ENV] = address
    yield address
    if previous is None:
        os.environ.pop(DNS_GUARD_ENV, None)
    else:
        os.environ[DNS_GUARD_ENV] = previous
    if server:
        server.stop()


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
