"""The real account and mail stores with one user, for delivery tests, on each backend
(``store_backend``: SQLite + Maildir under ``tmp_path``, or a fresh PostgreSQL database
cloned from the session's template that has the schema: a clone is a file copy)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool import config as config_mod
from mailtool.store.backends import Stores

ALICE = "alice@local.test"
_clones = itertools.count(1)


@pytest.fixture
def mda_stores(tmp_path: Path, store_backend: str, request: pytest.FixtureRequest
               ) -> Iterator[Stores]:  # fmt: skip
    """The stores of a data dir under ``tmp_path``, on this test's backend."""
    data: dict[str, Any] = {"data_dir": str(tmp_path)}
    if store_backend == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        template = request.getfixturevalue("schema_template")
        name = f"{template}_c{next(_clones)}"
        data["store"] = {"url": cluster.create_database(name, template=template)}
    stores = Stores(config_mod.from_dict(data), application_name="tests")
    yield stores
    stores.close()


@pytest.fixture
def alice_mail(mda_stores: Stores) -> Any:
    """A mail store whose account store knows ``alice@local.test``."""
    mda_stores.accounts.add_domain("local.test")
    mda_stores.accounts.add_user(ALICE, "pw")
    return mda_stores.mail
