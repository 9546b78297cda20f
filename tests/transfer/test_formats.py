"""The file formats on their own: mbox edge cases, Dovecot's index files, the bounds,
and progress bars only for a terminal."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from mailtool.transfer.maildir import read_keywords, read_uidlist
from mailtool.transfer.mbox import LINE_CHUNK, read_mbox
from tests.transfer.conftest import USER, mailbox, summary

FROM = b"From a@b Mon Dec  7 01:00:00 2026\n"


def test_from_line_needs_an_empty_line_before_it_and_a_date():
    text = (FROM + b"Subject: x\n\nbody\nFrom here without a blank line\n\n"
            b"From nobody without a date\n\n" + FROM + b"Subject: y\n\nz\n")  # fmt: skip
    msgs = list(read_mbox(io.BytesIO(text), limit=10_000))
    assert len(msgs) == 2
    assert b"From here without a blank line\n\nFrom nobody without a date\n" in msgs[0].data


def test_long_lines_are_read_in_pieces_and_never_split_a_message():
    long_line = b"x" * (3 * LINE_CHUNK) + b"\n"
    # a piece (not a line) that starts with a From line: content
    tricky = b"\n" + b"y" * LINE_CHUNK + FROM + b"end\n"
    text = FROM + b"Subject: x\n\n" + long_line + b"\n" + FROM + b"Subject: y\n\n" + tricky
    msgs = list(read_mbox(io.BytesIO(text), limit=10 * LINE_CHUNK))
    assert len(msgs) == 2
    assert msgs[0].data == b"Subject: x\n\n" + long_line
    assert msgs[1].data == b"Subject: y\n\n" + tricky


def test_too_big_message_is_not_kept_and_the_next_one_is():
    text = FROM + b"Subject: big\n\n" + b"z" * 5000 + b"\n\n" + FROM + b"Subject: ok\n\nfine\n"
    big, ok = read_mbox(io.BytesIO(text), limit=1000)
    assert big.too_big and big.data == b"" and big.size > 1000
    assert not ok.too_big and ok.data == b"Subject: ok\n\nfine\n"


def test_dovecot_uidlist_versions_and_keywords(tmp_path):
    (tmp_path / "v3").write_text("3 V1234 N9 Gabc\n4 W12 S10 :111.M1P1.host,S=10\n7 :222.M2.h\n")
    (tmp_path / "v1").write_text("1 555 3\n1 333.host\n2 444.host:2,S\n")
    assert read_uidlist(tmp_path / "v3") == (1234, {"111.M1P1.host,S=10": 4, "222.M2.h": 7})
    assert read_uidlist(tmp_path / "v1") == (555, {"333.host": 1, "444.host": 2})
    assert read_uidlist(tmp_path / "missing") == (None, {})
    (tmp_path / "kw").write_text("0 $Important\n1 work\n99 too-far\n")
    assert read_keywords(tmp_path / "kw") == {"a": "$Important", "b": "work"}


def test_maildir_file_over_the_limit_is_not_read(tmp_path, run, data_dir):
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1.h:2,S").write_bytes(b"Subject: small\n\nok\n")
    (root / "cur" / "2.h:2,").write_bytes(b"Subject: big\n\n" + b"x" * 9000 + b"\n")
    config = tmp_path / "mailtool.toml"
    config.write_text("[limits]\nmax_message_size = 4096\n")
    result = run("--config", str(config), "import", USER, "maildir", str(root), "--json", ok=False)
    assert result.exit_code == 1
    assert summary(result)["folders"]["INBOX"] == {"imported": 1, "duplicates": 0, "failed": 1}
    assert [m["flags"] for m in mailbox(data_dir)["INBOX"]] == [{"\\Seen"}]


def test_progress_bars_only_on_a_terminal(tmp_path, data_dir):
    (tmp_path / "a.mbox").write_bytes(FROM + b"Subject: x\n\nbody\n")
    cmd = [sys.executable, "-m", "mailtool", "--data-dir", str(data_dir), "import", USER, "mbox"]
    piped = subprocess.run([*cmd, str(tmp_path / "a.mbox")], capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr == b""  # not a terminal: no bar
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([*cmd, str(tmp_path / "a.mbox")], stdout=subprocess.PIPE,
                              stderr=slave, timeout=60)  # fmt: skip
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"a.mbox" in seen and b"100%" in seen  # the bar, on stderr
    assert b"already here" in proc.stdout  # the re-run found the message


def test_only_flags_imap_can_carry_are_kept():
    from mailtool.transfer.core import clean_flags

    given = ["\\seen", "\\Recent", "\\Bogus", "$Forwarded", "(a)", '"b"', "ok", "é", "x]",
             "k" * 101]
    assert clean_flags(given) == {"\\Seen", "$Forwarded", "ok"}


def test_thunderbird_mozilla_status_headers():
    text = (b"From - Mon Dec  7 01:00:00 2026\nX-Mozilla-Status: 1005\n"
            b"X-Mozilla-Status2: 00000000\nX-Mozilla-Keys: $label1 later\n"
            b"Subject: tb\n\nbody\n")  # fmt: skip
    (msg,) = read_mbox(io.BytesIO(text), limit=10_000)
    assert msg.flags == {"\\Seen", "\\Flagged", "$Forwarded", "$label1", "later"}
    assert msg.data == b"Subject: tb\n\nbody\n"


def test_a_source_size_that_is_only_an_estimate_never_doubles_a_message(data_dir):
    from mailtool.store.mailstore import MailStore
    from mailtool.transfer.core import Importer, Key

    store = MailStore(data_dir)
    try:
        data = b"Message-ID: <e@x>\r\n\r\nbody\r\n"
        for _ in range(2):  # a server saying RFC822.SIZE 999 (Exchange estimates it)
            importer = Importer(store, USER, max_size=10_000)
            target = importer.target("INBOX")
            target.add(data, (), 1_700_000_000, key=Key("<e@x>", 999, 1_700_000_000))
            importer.finish()
            importer.close()
        assert len(store.user(USER).folder("INBOX").messages()) == 1
        assert target.counts.duplicates == 1
    finally:
        store.close()


def test_adopt_uids_only_for_a_folder_that_never_gave_a_uid(data_dir):
    from mailtool.store.mailstore import MailStore

    store = MailStore(data_dir)
    try:
        mail = store.user(USER, create=True)
        folder = mail.create_folder("Fresh")
        index = mail.index
        assert index.adopt_uids("Fresh", 1, 4242)  # new to us: takes the source's numbering
        assert index.adopt_uids("Fresh", 7)
        assert folder.append(b"Subject: a\r\n\r\nb\r\n").uid == 7
        assert folder.status().uidvalidity == 4242
        assert not index.adopt_uids("Fresh", 3)  # UIDNEXT never goes down
        assert not index.adopt_uids("Fresh", 9, 5555)  # it gave UIDs: its UIDVALIDITY stays
        assert folder.status().uidvalidity == 4242 and folder.status().uidnext == 8
    finally:
        store.close()
