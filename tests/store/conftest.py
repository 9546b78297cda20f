"""Fixtures that run the same store tests on both backends: SQLite in ``tmp_path`` and
PostgreSQL in a fresh database of the session's private cluster (``pg_database``,
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore


@pytest.fixture(params=["sqlite", "postgresql"])
def accounts_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_accounts(
    accounts_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """``open_accounts(**kw)``: one more account store on the test's one set of accounts
    (the data dir's accounts.db, or the database): two calls are two processes / nodes."""
    opened: list[Any] = []
    if accounts_backend == "sqlite":
        from mailtool.store.accounts import AccountStore

        def make(**kw: Any) -> Any:
            opened.append(AccountStore.in_data_dir(tmp_path, **kw))
            return opened[-1]
    else:
        from mailtool.store.pg.accounts import PgAccountStore
        from mailtool.store.pg.db import Database

        url = request.getfixturevalue("pg_database").url

        def make(**kw: Any) -> Any:
            db = Database(url, pool_size=2, connect_timeout=2)  # a node's pool of its own
            opened.append(db)
            return PgAccountStore(db, **kw)
    yield make
    for item in opened:
        item.close()


# ---- the mail store (tests/store/test_mailstore.py, tests/store/pg/test_mailstore_pg.py)


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
