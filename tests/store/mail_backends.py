"""Fixtures that run the mail store's tests on both backends (imported by the test
modules that use them): SQLite + Maildir in ``tmp_path``, PostgreSQL in a fresh
database (``pg_database``, tests/store/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore


@pytest.fixture
def mail_accounts(tmp_path: Path) -> Iterator[AccountStore]:
    """alice@a.test (SQLite accounts: the mail store only asks them for quotas)."""
    acc = AccountStore.in_data_dir(tmp_path)
    acc.add_domain("a.test")
    acc.add_user("alice@a.test", "pw")
    yield acc
    acc.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def mail_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_mail_store(
    mail_backend: str, tmp_path: Path, mail_accounts: AccountStore, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Any]]:
    """``open_mail_store()``: one more mail store over the test's one set of mail (the
    data dir, or the database with a pool of its own): two calls are two processes / nodes."""
    opened: list[Any] = []

    def make() -> Any:
        if mail_backend == "sqlite":
            opened.append(MailStore(tmp_path, accounts=mail_accounts))
            return opened[-1]
        from mailtool.store.pg.db import Database
        from mailtool.store.pg.mailstore import PgMailStore

        db = Database(request.getfixturevalue("pg_database").url, pool_size=4, connect_timeout=2)
        opened.append(db)
        opened.append(PgMailStore(db, accounts=mail_accounts))
        return opened[-1]

    yield make
    for item in reversed(opened):
        item.close()
