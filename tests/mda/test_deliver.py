"""MDA delivery through the real store: Maildir file + index entry, trace headers, failures."""

from __future__ import annotations

import errno
import os

import pytest

from mailtool.errors import PermanentFailure, TemporaryFailure
from mailtool.mda.deliver import deliver
from mailtool.store.accounts import Quota

MESSAGE = b"From: a@other.test\r\nSubject: hello\r\n\r\nbody line\r\n"


def mda_backend_is_postgresql(mail: object) -> bool:
    return type(mail).__module__.startswith("mailtool.store.pg")


@pytest.fixture
def stores(alice_mail, mda_stores):
    """Accounts and mail on this test's backend (tests/mda/conftest.py)."""
    return mda_stores.accounts, alice_mail


# Maildir files (the SQLite backend's layout)
@pytest.mark.parametrize("store_backend", ["sqlite"])
def test_delivery_writes_maildir_new_and_the_index(stores):
    accounts, mail = stores
    done = deliver(mail, MESSAGE, sender="a@other.test", recipient="alice@local.test")
    root = accounts.maildir_path("alice@local.test")
    (name,) = os.listdir(root / "new")
    data = (root / "new" / name).read_bytes()
    assert data == b"Return-Path: <a@other.test>\r\nDelivered-To: alice@local.test\r\n" + MESSAGE
    (info,) = mail.user("alice@local.test").folder("INBOX").messages()
    assert (info.uid, info.size, info.flags) == (done.uid, len(data), frozenset())
    assert info.path == f"new/{name}"
    assert os.listdir(root / "tmp") == []


def test_default_folders_exist_for_a_new_user(stores):
    accounts, mail = stores
    if not mda_backend_is_postgresql(mail):
        root = accounts.maildir_path("alice@local.test")
        for folder in (".Sent", ".Drafts", ".Junk", ".Trash", ".Archive"):
            assert (root / folder / "cur").is_dir(), folder
    assert set(mail.user("alice@local.test").folders()) >= {
        "INBOX",
        "Sent",
        "Drafts",
        "Junk",
        "Trash",
        "Archive",
    }


def test_over_quota_is_a_temporary_failure(stores):
    accounts, mail = stores
    accounts.set_quota("alice@local.test", Quota(messages=1))
    deliver(mail, MESSAGE, sender="", recipient="alice@local.test")
    with pytest.raises(TemporaryFailure) as info:
        deliver(mail, MESSAGE, sender="", recipient="alice@local.test")
    assert (info.value.code, info.value.enhanced) == (452, "4.2.2")


# the Maildir writer fails (PostgreSQL's own failure: tests/store/pg, the database down)
@pytest.mark.parametrize("store_backend", ["sqlite"])
def test_disk_full_is_a_temporary_failure(stores, monkeypatch):
    _, mail = stores

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("mailtool.store.maildir.write_durably", full)
    with pytest.raises(TemporaryFailure) as info:
        deliver(mail, MESSAGE, sender="", recipient="alice@local.test")
    assert (info.value.code, info.value.enhanced) == (452, "4.3.1")


def test_a_mailbox_that_is_gone_is_permanent(stores):
    _, mail = stores
    with pytest.raises(PermanentFailure):
        deliver(mail, MESSAGE, sender="", recipient="ghost@local.test")
