"""A dnsmasq zone per test module, answered through mailtool.dns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mailtool.dns import Resolver


@contextmanager
def serving(folder: Path, zone: list[str]) -> Iterator[Resolver]:
    from tests.peers.dnsmasq import DnsServer

    server = DnsServer(folder, zone).start()
    try:
        yield Resolver([server.address], timeout=3)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def resolver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A dnsmasq answering the test module's ``ZONE``."""
    with serving(tmp_path_factory.mktemp("policy-dns"), request.module.ZONE) as resolver:
        yield resolver
