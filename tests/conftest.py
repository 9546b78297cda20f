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
from tests.peers.haproxy import HAProxy, haproxy_factory

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


#: comma-separated store backends the server-side suites run against ("sqlite",
#: "postgresql"); the Makefile's test target sets both
STORE_BACKENDS_ENV = "MAILTOOL_STORE_BACKENDS"
#: the suites whose servers run once per backend (issue 17: not a sample)
SERVER_SIDE_SUITES = ("mta", "mra", "mda", "e2e", "stress", "conformance")


def store_backends() -> list[str]:
    return [b for b in os.environ.get(STORE_BACKENDS_ENV, "sqlite").split(",") if b]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every server-side test that starts a server runs once per configured backend."""
    if "store_backend" not in metafunc.fixturenames:
        return
    if any(m.name == "parametrize" and "store_backend" in m.args[0]
           for m in metafunc.definition.iter_markers()):
        return
    parts = Path(str(metafunc.definition.path)).relative_to(Path(__file__).parent).parts
    backends = store_backends()
    if parts[0] in SERVER_SIDE_SUITES and backends != ["sqlite"]:
        metafunc.parametrize("store_backend", backends)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """The backend this test's servers use: "sqlite" (default) or "postgresql"
    (parametrised by :func:`pytest_generate_tests` for the server-side suites)."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """One private PostgreSQL cluster for the session (per xdist worker)."""
    from tests.peers.postgres import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.cleanup()


@pytest.fixture(scope="session")
def schema_template(postgres_cluster: Any) -> str:
    """The name of a database with the whole schema, never connected to again:
    CREATE DATABASE's template for the databases tests' servers get, so that no server
    start pays a ``mailtool store init`` (half a second each, ~a thousand per run)."""
    import psycopg

    from mailtool.store.pg import schema
    from mailtool.store.pg.db import Database

    url = str(postgres_cluster.create_database())
    db = Database(url, pool_size=1)
    schema.init(db)
    db.close()
    name = url.rpartition("/")[2]
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = %s", (name,))  # fmt: skip
    return name


@pytest.fixture
def postgres_url(postgres_cluster: Any) -> str:
    """A fresh, empty database in the session's cluster."""
    return str(postgres_cluster.create_database())


@pytest.fixture
def pg_database(postgres_cluster: Any, schema_template: str) -> Iterator[Any]:
    """A fresh database with the current schema (as ``mailtool store init`` makes it,
    cloned from :func:`schema_template`): a :class:`mailtool.store.pg.db.Database`,
    closed after the test."""
    from mailtool.store.pg.db import Database

    url = postgres_cluster.create_database(template=schema_template)
    database = Database(url, pool_size=4, connect_timeout=2)
    yield database
    database.close()


@pytest.fixture
def mailtool_server(
    tmp_path: Path, store_backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., MailtoolServer]]:
    """Factory: ``mailtool_server(services=..., config=...)`` starts a real server.

    Every server started through it is stopped at the end of the test, and must
    exit 0 (a clean SIGTERM shutdown is part of every test's contract). On the
    PostgreSQL backend each server gets a database of its own, unless the test's
    config names one (two nodes of one cluster).
    """
    started: list[MailtoolServer] = []

    def start(name: str = "mt", **kwargs: Any) -> MailtoolServer:
        if store_backend == "postgresql":
            config = dict(kwargs.get("config") or {})
            if not config.get("store", {}).get("url"):
                template = request.getfixturevalue("schema_template")
                url = request.getfixturevalue("postgres_cluster").create_database(
                    template=template)
                config["store"] = {**config.get("store", {}), "url": url}
                kwargs.setdefault("schema_ready", True)  # the template's
            kwargs["config"] = config
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


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Callable[..., HAProxy]]:
    """Factory: ``haproxy({"smtp": [(host, port), ...], ...}, proxy="v2")`` starts HAProxy
    on loopback in front of those nodes (tests/peers/haproxy.py: ``.port(service)``)."""
    with haproxy_factory(tmp_path) as start:
        yield start


@pytest.fixture(scope="session")
def certificate_authority() -> Any:
    """A trustme CA for tests that need a real chain."""
    import trustme

    return trustme.CA()
