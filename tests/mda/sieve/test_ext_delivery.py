"""The extensions through deliver() with the real stores: what lands in the Maildir."""

from __future__ import annotations

import pytest

from mailtool.mda.deliver import deliver
from mailtool.store.mailstore import MailStore

ALICE = "alice@local.test"
MESSAGE = (b"From: a@other.test\r\nTo: alice@local.test\r\nSubject: hello\r\n"
           b"Message-ID: <m1@other.test>\r\n\r\nbody line\r\n")  # fmt: skip


@pytest.fixture
def env(alice_mail, mda_stores):
    return alice_mail, mda_stores.sieve_scripts  # either backend's (tests/mda/conftest.py)


def run(env, script: str, message: bytes = MESSAGE):
    mail, scripts = env
    scripts.put(ALICE, "main", script)
    scripts.activate(ALICE, "main")
    return deliver(mail, message, sender="a@other.test", recipient=ALICE, scripts=scripts)


def stored(mail: MailStore, name: str) -> list[bytes]:
    folder = mail.user(ALICE).folder(name)
    return [folder.read_bytes(m.uid) for m in folder.messages()]


def test_editheader_changes_what_is_filed(env):
    done = run(
        env,
        """require ["editheader", "fileinto"];
deleteheader "Subject"; addheader "Subject" "[ext] hello"; addheader :last "X-Filed" "yes";
fileinto "Tagged";""",
    )
    assert [f for f, _ in done.placed] == ["Tagged"]
    (data,) = stored(env[0], "Tagged")
    head = data.split(b"\r\n\r\n")[0]
    assert b"Subject: [ext] hello" in head and b"Subject: hello" not in head
    assert head.endswith(b"X-Filed: yes") and b"Delivered-To: alice@local.test" in head


def test_fileinto_specialuse_finds_the_folder_by_attribute(env):
    mail, _ = env
    mail.user(ALICE).folders()  # the default folders, Junk with \Junk
    done = run(env, 'require ["fileinto", "special-use"]; fileinto :specialuse "\\\\Junk" "Spam";')
    assert [f for f, _ in done.placed] == ["Junk"]
    done = run(
        env, 'require ["fileinto", "special-use"]; fileinto :specialuse "\\\\Important" "Prio";'
    )
    assert [f for f, _ in done.placed] == ["Prio"]


def test_vacation_fcc_files_the_reply(env):
    mail, _ = env
    done = run(
        env,
        """require ["vacation", "fcc", "imap4flags"];
vacation :fcc "Sent" :flags "\\\\Seen" "I am away";""",
    )
    (reply,) = done.vacations
    (copy,) = stored(mail, "Sent")
    assert copy == reply.message and b"Auto-Submitted: auto-replied" in copy
    assert "\\Seen" in next(iter(mail.user(ALICE).folder("Sent").messages())).flags


def test_fcc_into_a_missing_folder_needs_create(env):
    mail, _ = env
    script = (
        'require ["vacation", "fcc", "mailbox"]; vacation :handle "{n}" :fcc "Replies" {c} "away";'
    )
    run(env, script.format(n="1", c=""))
    assert "Replies" not in mail.user(ALICE).folders()
    run(env, script.format(n="2", c=":create"))
    assert len(stored(mail, "Replies")) == 1


# reads the SQLite backend's file (PostgreSQL keeps the state in a table: tests/store/pg)
@pytest.mark.parametrize("store_backend", ["sqlite"])
def test_duplicate_state_lives_in_the_users_sieve_directory(env):
    _mail, scripts = env
    script = 'require ["duplicate", "fileinto"]; if duplicate { fileinto "Dups"; }'
    assert [f for f, _ in run(env, script).placed] == ["INBOX"]
    assert [f for f, _ in run(env, script).placed] == ["Dups"]
    assert (scripts.user_dir(ALICE) / "duplicate.json").exists()


def test_notify_is_queued_like_a_vacation_reply(env):
    done = run(env, 'require "enotify"; notify :message "new mail" "mailto:alice@phone.test";')
    (note,) = done.vacations
    assert note.recipient == "alice@phone.test" and note.sender == ""
    assert b"Auto-Submitted: auto-notified" in note.message
    assert [f for f, _ in done.placed] == ["INBOX"]


def test_mailboxexists_sees_the_users_folders(env):
    mail, _ = env
    mail.user(ALICE).create_folder("Projects")
    done = run(
        env,
        """require ["mailbox", "fileinto"];
if mailboxexists "Projects" { fileinto "Projects"; } else { fileinto "Other"; }""",
    )
    assert [f for f, _ in done.placed] == ["Projects"]
