"""The server-side suites' module-scoped servers on every store backend, and the
server's stores opened in the test process (for users and direct fills).

``MAILTOOL_STORE_BACKENDS=sqlite,postgresql`` runs each module's server once per backend
(issue 17 point 7: the IMAP, POP3 and ManageSieve suites against both, not a sample)::

    @pytest.fixture(scope="module", params=BACKENDS)
    def shared_server(request, tmp_path_factory):
        server = MailtoolServer(tmp, config=backend_config(request)).start()
        yield server
        stop_server(server)

A test that reads the data dir (Maildir files, the SQLite index) stays on SQLite with
``@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)  # why``: it reuses
the module's SQLite server.

Fills go through :func:`server_stores` (``mailtool.store.backends.Stores`` on the
server's own config, as the CLI opens it): on PostgreSQL a fill announces itself on the
change bus like another node's write, on SQLite through the data dir's notifier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import store_backends

if TYPE_CHECKING:
    from mailtool.store.backends import Stores
    from tests.harness import MailtoolServer

#: the backends the module-scoped servers run on (``MAILTOOL_STORE_BACKENDS``)
BACKENDS = store_backends()


def backend_of(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


def backend_config(request: pytest.FixtureRequest, config: dict[str, Any] | None = None
                   ) -> dict[str, Any]:  # fmt: skip
    """``config`` plus, on PostgreSQL, ``[store] url`` of a fresh database of the
    session's cluster."""
    config = dict(config or {})
    if backend_of(request) == "postgresql":
        url = request.getfixturevalue("postgres_cluster").create_database()
        config["store"] = {**config.get("store", {}), "url": url}
    return config


def server_stores(server: MailtoolServer) -> Stores:
    """The server's stores, opened once in this process from its config file."""
    stores: Stores | None = getattr(server, "_test_stores", None)
    if stores is None:
        from mailtool.config import load
        from mailtool.store.backends import Stores

        stores = Stores(load(server.config_path), application_name="mailtool-test")
        server._test_stores = stores  # type: ignore[attr-defined]
    return stores


def add_user(server: MailtoolServer, address: str, password: str, **kwargs: Any) -> None:
    """The user (and its domain) in the server's account store, without a CLI process."""
    accounts = server_stores(server).accounts
    domain = address.rpartition("@")[2]
    if domain not in accounts.domains():
        accounts.add_domain(domain)
    accounts.add_user(address, password, **kwargs)


def close_stores(server: MailtoolServer) -> None:
    """Close what :func:`server_stores` opened (its pool, on PostgreSQL)."""
    stores = getattr(server, "_test_stores", None)
    if stores is not None:
        stores.close()
        server._test_stores = None  # type: ignore[attr-defined]


def stop_server(server: MailtoolServer) -> None:
    """Close the test process's stores of ``server``, then stop it (it must exit 0)."""
    close_stores(server)
    code = server.stop()
    assert code == 0, f"mailtool serve exited {code}:\n{server.log()}"


__all__ = [
    "BACKENDS", "add_user", "backend_config", "backend_of", "close_stores", "server_stores",
    "stop_server",
]
