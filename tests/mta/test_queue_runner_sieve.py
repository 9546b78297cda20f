"""Crash recovery: a copy Sieve filed outside INBOX is found, not delivered twice; a file
a crash left unindexed is indexed at the next start."""

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


def test_restart_indexes_a_file_a_crash_left_unindexed(tmp_path):
    """A SIGKILL between the Maildir rename and the index commit of a delivery made
    before the 250 (no queue entry): the next start indexes the file."""
    from mailtool.store.maildir import Maildir
    from mailtool.store.queue import Queue

    accounts = AccountStore(tmp_path / "accounts.db")
    accounts.add_domain("local.test")
    accounts.add_user(ALICE, "pw")
    mail = MailStore(tmp_path, accounts=accounts)
    config = from_dict({"data_dir": str(tmp_path)})
    crashed = Queue.in_data_dir(tmp_path)
    try:
        mail.user(ALICE).create_folder("Work")
        with crashed.delivering([ALICE]):
            root = mail.user(ALICE).maildir.root
            Maildir(root).deliver("Work", b"Subject: s\r\n\r\nb\r\n")  # file, no index row
            assert mail.user(ALICE).index.totals() == (0, 0)
            restarted = Queue.in_data_dir(tmp_path)
            runner = QueueRunner(queue=lambda: restarted, mail=lambda: mail, config=config)
            for rcpt in restarted.interrupted_deliveries():
                runner._resync(rcpt)
        assert [m.size for m in mail.user(ALICE).folder("Work").messages()] == [17]
    finally:
        mail.close()
        accounts.close()
