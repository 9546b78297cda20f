"""SCRAM keys in the account store: made with DEFAULT_ITERATIONS, older keys remade at
the next PLAIN/LOGIN, unknown users' salts from a secret kept in the data dir (on
PostgreSQL, in the database: every node shows the same salt). Both backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailtool.protocol import sasl
from mailtool.store.accounts import MOCK_KEY_FILE, AccountStore, check_hash

USER = "alice@example.test"


@pytest.fixture
def store(open_accounts: Callable[..., Any]) -> Any:
    accounts = open_accounts()
    accounts.add_domain("example.test")
    accounts.add_user(USER, "pw")
    return accounts


def _scram_login(accounts: AccountStore, password: str) -> bool:
    server = sasl.ScramServer(accounts.scram_credentials)
    client = sasl.ScramClient(USER, password)
    try:
        final = server.step(client.initial_response())
        assert isinstance(final, bytes)
        out = server.step(client.step(final))
        assert isinstance(out, bytes)
        client.step(out)
        return isinstance(server.step(b""), sasl.Done)
    except sasl.SaslAuthFailed:
        return False


def _make_old(accounts: Any, iterations: int = 4096) -> None:
    """Keys as an older version made them."""
    old = sasl.scram_credentials("pw", iterations=iterations)
    sql = (
        "UPDATE users SET scram_salt = ?, scram_iterations = ?, scram_stored_key = ?,"
        " scram_server_key = ? WHERE address = ?"
    )
    values = (old.salt, old.iterations, old.stored_key, old.server_key, USER)
    if isinstance(accounts, AccountStore):
        with accounts._write() as tx:
            tx.execute(sql, values)
    else:
        with accounts.db.transaction() as conn:
            conn.execute(sql.replace("?", "%s"), values)


def test_new_keys_have_65536_iterations(store: AccountStore) -> None:
    # 16 x the old 4,096, and the most Cyrus SASL clients (mbsync, mutt) accept
    creds = store.scram_credentials(USER)
    assert creds is not None and creds.iterations == sasl.DEFAULT_ITERATIONS == 65_536
    assert _scram_login(store, "pw") and not _scram_login(store, "nope")
    store.set_password(USER, "new")
    assert store.scram_credentials(USER).iterations == 65_536  # type: ignore[union-attr]


def test_old_keys_work_and_are_remade_at_the_next_password_login(store: AccountStore) -> None:
    _make_old(store)
    assert _scram_login(store, "pw")  # 4,096 still works
    assert not store.verify_password(USER, "wrong")
    assert store.scram_credentials(USER).iterations == 4096  # type: ignore[union-attr]
    assert store.verify_password(USER, "pw")
    creds = store.scram_credentials(USER)
    assert creds is not None and creds.iterations == 65_536
    assert _scram_login(store, "pw") and not _scram_login(store, "wrong")


# the key file (PostgreSQL: tests/store/pg/test_accounts.py)
@pytest.mark.parametrize("accounts_backend", ["sqlite"])
def test_mock_salt_is_kept_in_the_data_dir(tmp_path: Path, store: AccountStore) -> None:
    ghost = store.scram_mock_salt("ghost@example.test")
    assert len(ghost) == 16
    assert store.scram_mock_salt("Ghost@Example.TEST") == ghost  # one spelling, as users
    assert store.scram_mock_salt("other@example.test") != ghost
    secret = tmp_path / MOCK_KEY_FILE
    assert secret.stat().st_mode & 0o777 == 0o600
    again = AccountStore(tmp_path / "accounts.db")  # a restart
    assert again.scram_mock_salt("ghost@example.test") == ghost
    elsewhere = AccountStore(tmp_path / "other" / "accounts.db")
    assert elsewhere.scram_mock_salt("ghost@example.test") != ghost


def test_passwords_are_checked_through_check_hash(store: AccountStore) -> None:
    seen: list[str] = []

    def recording(stored: str, password: str) -> bool:
        seen.append(password)
        return check_hash(stored, password)

    store.check_hash = recording
    assert store.verify_password(USER, "pw")
    assert not store.verify_password("nobody@example.test", "pw")  # same work for nobody
    assert seen == ["pw", "pw"]


def test_the_configured_count_is_used_and_keys_follow_it(
    open_accounts: Callable[..., Any],
) -> None:
    # [security] scram_iterations: the default (65,536) is Cyrus SASL's maximum
    low = open_accounts()
    low.add_domain("example.test")
    low.add_user(USER, "pw")
    assert low.scram_credentials(USER).iterations == 65536  # type: ignore[union-attr]
    high = open_accounts(scram_iterations=200_000)  # raised
    assert high.verify_password(USER, "pw")
    assert high.scram_credentials(USER).iterations == 200_000  # type: ignore[union-attr]
    assert low.verify_password(USER, "pw")  # and lowered: remade downwards too
    assert low.scram_credentials(USER).iterations == 65536  # type: ignore[union-attr]
    assert _scram_login(low, "pw")
