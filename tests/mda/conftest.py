"""The real account and mail stores with one user, for delivery tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore

ALICE = "alice@local.test"


@pytest.fixture
def alice_mail(tmp_path: Path) -> Iterator[MailStore]:
    """A MailStore under ``tmp_path`` whose account store knows ``alice@local.test``."""
    accounts = AccountStore(tmp_path / "accounts.db")
    accounts.add_domain("local.test")
    accounts.add_user(ALICE, "pw")
    mail = MailStore(tmp_path, accounts=accounts)
    yield mail
    mail.close()
    accounts.close()
