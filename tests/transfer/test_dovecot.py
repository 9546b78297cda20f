"""Mail made by a private Dovecot, brought in from its Maildir and over IMAP.

Dovecot gets messages by APPEND with flags, keywords and INTERNALDATEs, in a
nested folder and a non-ASCII one, with an expunge leaving a UID gap; then both
imports must give the same folders, flags, dates and (the folders being new to
us) Dovecot's own UIDVALIDITY and UIDs.
"""

from __future__ import annotations

import imaplib
import os
import re
import time
from pathlib import Path

import pytest

from mailtool.protocol.imap.mutf7 import encode_mutf7
from mailtool.store.accounts import AccountStore
from tests.transfer.conftest import USER, mailbox, summary

NAMES = ("INBOX", "Work/Clients", "Été 2026")
#: Dovecot's LAYOUT=fs with '/' as the IMAP separator (the default is Maildir++ with '.')
FS_LAYOUT = """mail_location = maildir:{run}/mail/%u:LAYOUT=fs
namespace inbox {
  inbox = yes
  separator = /
}
"""


def _remote(name: str, sep: str) -> str:
    return encode_mutf7(name.replace("/", sep))
BASE_DATE = 1_700_000_000


def _msg(folder: str, i: int) -> bytes:
    tag = sum(folder.encode())
    head = f"From: x@y.test\r\nSubject: {folder} {i}\r\nMessage-ID: <{i}.{tag}@y>\r\n"
    return (head + "\r\nbody\r\n").encode()


Expected = dict[str, tuple[int, dict[int, tuple[set[str], int, bytes]]]]


def _fill(port: int, sep: str = ".") -> Expected:
    """APPEND into Dovecot; -> folder: (UIDVALIDITY, uid: (flags, date, message))."""
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("alice", "pw")
    folders = {name: _remote(name, sep) for name in NAMES}
    for remote in folders.values():
        if remote != "INBOX":
            imap.create(f'"{remote}"')
    flag_sets = ["(\\Seen)", "(\\Flagged $Important)", "()", "(\\Answered \\Seen work)"]
    for n, remote in enumerate(folders.values()):
        for i, flags in enumerate(flag_sets):
            date = imaplib.Time2Internaldate(BASE_DATE + n * 86400 + i * 61)
            imap.append(f'"{remote}"', flags, date, _msg(remote, i))
        imap.select(f'"{remote}"')
        imap.uid("STORE", "2", "+FLAGS", "(\\Deleted)")  # a gap: UIDs 1, 3, 4
        imap.expunge()
    out = {}
    for name, remote in folders.items():
        imap.select(f'"{remote}"', readonly=True)
        status = imap.status(f'"{remote}"', "(UIDVALIDITY)")[1][0]
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", status)[1])
        _, rows = imap.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        msgs = {}
        for row in rows:
            if not isinstance(row, tuple):
                continue
            head = row[0]
            uid = int(re.search(rb"UID (\d+)", head)[1])
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", head)[1].decode().split())
            date = int(time.mktime(imaplib.Internaldate2tuple(head)))
            msgs[uid] = (flags - {"\\Recent"}, date, row[1])
        out[name] = (uidvalidity, msgs)
    imap.logout()
    return out


@pytest.fixture
def dovecot_mail(dovecot_factory):
    dc = dovecot_factory(users={"alice": "pw"}, pop3=False)
    return dc, _fill(dc.imap_port)


def _same(expected, got) -> None:
    assert set(got) - {"_uidvalidity"} >= set(expected)
    for name, (uidvalidity, msgs) in expected.items():
        assert got["_uidvalidity"][name] == uidvalidity, name
        rows = {m["uid"]: m for m in got[name]}
        assert sorted(rows) == sorted(msgs) == [1, 3, 4], name
        for uid, (flags, date, data) in msgs.items():
            assert rows[uid]["flags"] == flags, (name, uid)
            assert rows[uid]["date"] == date, (name, uid)
            assert rows[uid]["data"] == data, (name, uid)


def test_dovecot_maildir_import_keeps_uids_flags_dates_names(dovecot_mail, run, data_dir):
    dc, expected = dovecot_mail
    root: Path = dc.maildir("alice")
    assert (root / "dovecot-uidlist").is_file() and list(root.glob(".*/dovecot-keywords"))
    first = summary(run("import", USER, "maildir", str(root), "--json"))
    assert first["totals"] == {"imported": 9, "duplicates": 0, "failed": 0}
    _same(expected, mailbox(data_dir))
    again = summary(run("import", USER, "maildir", str(root), "--json"))
    assert again["totals"] == {"imported": 0, "duplicates": 9, "failed": 0}


def test_imap_import_from_dovecot(dovecot_mail, run, data_dir):
    dc, expected = dovecot_mail
    url = f"imap://alice@127.0.0.1:{dc.imap_port}"
    args = ("import", USER, "imap", url, "--plaintext", "--password-command", "echo pw", "--json")
    first = summary(run(*args))
    assert first["totals"] == {"imported": 9, "duplicates": 0, "failed": 0}
    _same(expected, mailbox(data_dir))
    again = summary(run(*args))
    assert again["totals"] == {"imported": 0, "duplicates": 9, "failed": 0}
    refused = run("import", USER, "imap", url, "--password-command", "echo pw", ok=False)
    assert refused.exit_code != 0  # imap:// means STARTTLS, which this Dovecot lacks


def test_export_maildir_round_trip_keeps_uids(dovecot_mail, run, data_dir, tmp_path):
    dc, expected = dovecot_mail
    run("import", USER, "maildir", str(dc.maildir("alice")))
    out = tmp_path / "export"
    first = summary(run("export", USER, str(out), "--format", "maildir", "--json"))
    assert first["totals"]["exported"] == 9
    assert (out / ".Work.Clients" / "cur").is_dir()
    assert (out / f".{encode_mutf7('Été 2026')}" / "dovecot-uidlist").is_file()
    again = summary(run("export", USER, str(out), "--format", "maildir", "--json"))
    assert again["totals"] == {"exported": 0, "skipped": 9}  # resumable: nothing written twice
    accounts = AccountStore.in_data_dir(data_dir)
    accounts.add_user("bob@example.test", "pw")
    accounts.close()
    run("import", "bob@example.test", "maildir", str(out))
    _same(expected, mailbox(data_dir, "bob@example.test"))


def test_dovecot_fs_layout_maildir_import(dovecot_factory, run, data_dir):
    dc = dovecot_factory(users={"alice": "pw"}, pop3=False, extra_config=FS_LAYOUT)
    expected = _fill(dc.imap_port, "/")
    root: Path = dc.maildir("alice")
    assert (root / "Work" / "Clients" / "cur").is_dir()  # the fs layout, not .Work.Clients
    report = summary(run("import", USER, "maildir", str(root), "--json"))
    assert report["totals"]["imported"] == 9
    _same(expected, mailbox(data_dir))


def test_imap_import_strips_a_courier_style_inbox_prefix(dovecot_factory, run, data_dir):
    config = "namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n}\n"
    dc = dovecot_factory(users={"alice": "pw"}, pop3=False, extra_config=config)
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    imap.login("alice", "pw")
    for remote in ("INBOX", "INBOX.Sent", "INBOX.Work.Clients"):
        if remote != "INBOX":
            imap.create(remote)
        imap.append(remote, "(\\Seen)", None, _msg(remote, 0))
    imap.logout()
    url = f"imap://alice@127.0.0.1:{dc.imap_port}"
    report = summary(run("import", USER, "imap", url, "--plaintext", "--password-command",
                         "echo pw", "--json"))  # fmt: skip
    assert {k: v["imported"] for k, v in report["folders"].items()} == {
        "INBOX": 1, "Sent": 1, "Work/Clients": 1}  # fmt: skip
    tag = sum(b"INBOX.Work.Clients")
    assert [m["id"] for m in mailbox(data_dir)["Work/Clients"]] == [f"<0.{tag}@y>"]


def test_dovecot_reads_our_maildir_export(dovecot_factory, run, data_dir, tmp_path):
    dc = dovecot_factory(users={"alice": "pw", "carol": "pw"}, pop3=False)
    expected = _fill(dc.imap_port)
    run("import", USER, "maildir", str(dc.maildir("alice")))
    target = dc.maildir("carol")  # carol has not logged in: Dovecot has made nothing yet
    run("export", USER, str(target), "--format", "maildir")
    owner = (dc.maildir("alice")).stat()
    for path in [target, *target.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid)
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    imap.login("carol", "pw")
    for name, (uidvalidity, msgs) in expected.items():
        remote = _remote(name, ".")
        status = imap.status(f'"{remote}"', "(UIDVALIDITY MESSAGES)")[1][0]
        assert int(re.search(rb"UIDVALIDITY (\d+)", status)[1]) == uidvalidity, (name, status)
        imap.select(f'"{remote}"', readonly=True)
        _, rows = imap.uid("FETCH", "1:*", "(FLAGS)")
        got = {int(re.search(rb"UID (\d+)", r)[1]): set(re.search(rb"FLAGS \(([^)]*)\)", r)[1]
               .decode().split()) - {"\\Recent"} for r in rows}  # fmt: skip
        assert got == {uid: flags for uid, (flags, _, _) in msgs.items()}, name
    imap.logout()
