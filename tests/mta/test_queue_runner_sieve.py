"""Crash recovery with Sieve: a copy filed outside INBOX is found, not delivered twice."""

from __future__ import annotations

from mailtool.config import from_dict
from mailtool.mta.queue_runner import QueueRunner
from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore

ALICE = "alice@local.test"


def test_crash_scan_finds_a_copy_sieve_filed_into_another_folder(tmp_path):
    accounts = AccountStore(tmp_path / "accounts.db")
    accounts.add_domain("local.test")
    accounts.add_user(ALICE, "pw")
    mail = MailStore(tmp_path, accounts=accounts)
    config = from_dict({"data_dir": str(tmp_path)})
    runner = QueueRunner(queue=lambda: None, mail=lambda: mail, config=config)
    try:
        copy = b"Received: from x\r\n\tby mail.test\r\n\tid ABC123; now\r\nSubject: s\r\n\r\nb\r\n"
        mail.user(ALICE).create_folder("Work")
        mail.user(ALICE).deliver(copy, "Work")
        assert runner._already_delivered(ALICE, "ABC123", since=0)
        assert not runner._already_delivered(ALICE, "OTHER1", since=0)
    finally:
        mail.close()
        accounts.close()
