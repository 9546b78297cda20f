"""``mailtool import USER mbox``: mutt's mbox, quoting, bounds, re-runs, export round trip."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from mailtool.transfer.mbox import from_line_date
from tests.transfer.conftest import USER, mailbox, mailtool_subprocess, run_mutt, summary

MSGS = {
    "1.host:2,FS": b"From: a@b.test\nSubject: one\nMessage-ID: <1@b.test>\n\n"
    b"hello\nFrom the start\n>From quoted\n",
    "2.host:2,RS": b"From: a@b.test\nSubject: two\nMessage-ID: <2@b.test>\n\nbody two\n",
    "3.host:2,": b"From: a@b.test\nSubject: three\nMessage-ID: <3@b.test>\n\nbody three\n",
}


def _maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    for i, (name, data) in enumerate(sorted(MSGS.items())):
        (path / "cur" / name).write_bytes(data)
        os.utime(path / "cur" / name, (1_600_000_000 + i * 3600,) * 2)
    return path


def test_mutt_mbox_flags_dates_and_rerun(tmp_path, run, data_dir):
    source = _maildir(tmp_path / "src")
    mbox = tmp_path / "Archive.mbox"
    run_mutt(tmp_path, source, f"<tag-pattern>~A<enter><copy-message>{mbox}<enter>")
    written = mbox.read_bytes()
    assert b"Status: RO" in written and b"X-Status: F" in written  # mutt's own flag headers
    dates = [from_line_date(line) for line in written.splitlines() if line.startswith(b"From ")]
    dates = [d for d in dates if d is not None]
    assert len(dates) == 3

    first = summary(run("import", USER, "mbox", str(mbox), "--json"))
    assert first["folders"] == {"Archive": {"imported": 3, "duplicates": 0, "failed": 0}}
    box = mailbox(data_dir)["Archive"]
    by_id = {m["id"]: m for m in box}
    assert by_id["<1@b.test>"]["flags"] == {"\\Seen", "\\Flagged"}
    assert by_id["<2@b.test>"]["flags"] == {"\\Seen", "\\Answered"}
    assert by_id["<3@b.test>"]["flags"] == set()
    assert sorted(m["date"] for m in box) == sorted(int(d) for d in dates)
    one = by_id["<1@b.test>"]["data"]
    # mutt's headers are gone, the body as written (mutt relies on Content-Length)
    assert b"Status:" not in one and b"Content-Length" not in one
    assert one.endswith(b"\r\n\r\nhello\r\nFrom the start\r\n>From quoted\r\n")

    again = summary(run("import", USER, "mbox", str(mbox), "--json"))
    assert again["totals"] == {"imported": 0, "duplicates": 3, "failed": 0}
    assert len(mailbox(data_dir)["Archive"]) == 3


def test_mboxrd_and_mboxo_unquoting(tmp_path, run, data_dir):
    text = (b"From x@y Mon Dec  7 01:00:00 2026\nSubject: q\nMessage-ID: <q@y>\n\n"
            b">From one\n>>From two\nFrom inside a line is fine\n\n"
            b"From x@y Mon Dec  7 02:00:00 2026\nSubject: r\n\nbody\n")  # fmt: skip
    (tmp_path / "inbox").write_bytes(text)
    (tmp_path / "old.mbox").write_bytes(text)
    run("import", USER, "mbox", str(tmp_path / "inbox"))
    run("import", USER, "mbox", "--mboxo", str(tmp_path / "old.mbox"))
    box = mailbox(data_dir)
    rd = next(m for m in box["INBOX"] if m["id"] == "<q@y>")["data"]
    assert b"\r\n\r\nFrom one\r\n>From two\r\n" in rd  # mboxrd: one '>' less
    o = next(m for m in box["old"] if m["id"] == "<q@y>")["data"]
    assert b"\r\n\r\nFrom one\r\n>>From two\r\n" in o  # mboxo: only '>From '
    assert len(box["INBOX"]) == 2
    assert box["INBOX"][1]["data"].endswith(b"\r\n\r\nbody\r\n")  # separator line not kept
    assert box["INBOX"][0]["date"] == int(time.mktime((2026, 12, 7, 1, 0, 0, 0, 0, -1)))


def test_message_over_the_size_limit_is_skipped_and_reported(tmp_path, run, data_dir):
    config = tmp_path / "mailtool.toml"
    config.write_text("[limits]\nmax_message_size = 4096\n")
    big = b"x" * 100 + b"\n"
    text = (b"From a Mon Dec  7 01:00:00 2026\nSubject: small\n\nok\n\n"
            b"From a Mon Dec  7 01:00:01 2026\nSubject: big\n\n" + big * 200 + b"\n"
            b"From a Mon Dec  7 01:00:02 2026\nSubject: after\n\nok\n")  # fmt: skip
    (tmp_path / "m.mbox").write_bytes(text)
    result = run("--config", str(config), "import", USER, "mbox", str(tmp_path / "m.mbox"),
                 "--json", ok=False)  # fmt: skip
    assert result.exit_code == 1  # a failure is reported in the exit status
    report = summary(result)
    assert report["folders"]["m"] == {"imported": 2, "duplicates": 0, "failed": 1}
    assert re.search(r"larger than the 4096-byte limit", report["errors"][0])
    subjects = [re.search(rb"Subject: (\w+)", m["data"])[1] for m in mailbox(data_dir)["m"]]
    assert subjects == [b"small", b"after"]


def test_export_mbox_then_import_round_trip(tmp_path, run, data_dir):
    text = b"".join(
        f"From a Mon Dec  7 0{i}:00:00 2026\nSubject: s{i}\nMessage-ID: <{i}@x>\n"
        f"X-Status: {'F' if i % 2 else ''}\n\nFrom here\n>From there\n\n".encode()
        for i in range(4)
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "in.mbox").write_bytes(text)
    run("import", USER, "mbox", "--folder", "Work/Clients/Été", str(tmp_path / "src" / "in.mbox"))
    run("export", USER, str(tmp_path / "out"), "--format", "mbox")
    exported = tmp_path / "out" / "Work" / "Clients" / "Été.mbox"
    assert exported.is_file() and (tmp_path / "out" / "INBOX.mbox").is_file()
    run("export", USER, str(tmp_path / "out"), "--format", "mbox")  # a re-run rewrites
    assert len(re.findall(rb"(?m)^From MAILER-DAEMON ", exported.read_bytes())) == 4

    before = mailbox(data_dir)["Work/Clients/Été"]
    again = summary(run("import", USER, "mbox", str(tmp_path / "out"), "--json"))
    assert again["folders"]["Work/Clients/Été"] == {"imported": 0, "duplicates": 4, "failed": 0}

    from mailtool.store.accounts import AccountStore

    accounts = AccountStore.in_data_dir(data_dir)
    accounts.add_user("bob@example.test", "pw")
    accounts.close()
    run("import", "bob@example.test", "mbox", str(tmp_path / "out"))
    after = mailbox(data_dir, "bob@example.test")["Work/Clients/Été"]
    strip = [(m["data"], m["flags"], m["date"], m["size"]) for m in before]
    assert [(m["data"], m["flags"], m["date"], m["size"]) for m in after] == strip


def _files(folder: Path) -> int:
    return sum(len(os.listdir(folder / sub)) for sub in ("cur", "new"))


def test_killed_import_resumes_without_duplicates(tmp_path, run, data_dir):
    total = 400
    (tmp_path / "big.mbox").write_bytes(b"".join(
        f"From a Mon Dec  7 01:{i // 60 % 60:02}:{i % 60:02} 2026\nSubject: n{i}\n"
        f"Message-ID: <{i}@big>\n\nbody {i}\n\n".encode() for i in range(total)
    ))  # fmt: skip
    proc = mailtool_subprocess(data_dir, "import", USER, "mbox", str(tmp_path / "big.mbox"))
    folder = data_dir / "mail" / "example.test" / "alice" / ".big"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if folder.is_dir() and _files(folder) >= 20:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # our own child, mid-way
    finally:
        proc.wait()
    stored = _files(folder)
    assert 0 < stored < total, ("the import was not interrupted mid-way", proc.stderr.read())
    resumed = summary(run("import", USER, "mbox", str(tmp_path / "big.mbox"), "--json"))
    counts = resumed["folders"]["big"]
    assert counts["duplicates"] >= stored - 1 and counts["failed"] == 0
    ids = [m["id"] for m in mailbox(data_dir)["big"]]
    assert len(ids) == len(set(ids)) == total


def test_over_quota_stops_with_the_summary(tmp_path, run, data_dir):
    run("user", "quota", USER, "--messages", "2")
    msgs = [f"From a Mon Dec  7 01:00:0{i} 2026\nMessage-ID: <{i}@q>\n\nb\n\n" for i in range(5)]
    (tmp_path / "q.mbox").write_text("".join(msgs))
    result = run("import", USER, "mbox", str(tmp_path / "q.mbox"), "--json", ok=False)
    assert result.exit_code == 1
    report = summary(result)
    assert report["folders"]["q"] == {"imported": 2, "duplicates": 0, "failed": 1}
    assert "quota" in report["errors"][0]
    # the files written ahead of the commit that stopped are not left behind
    assert os.listdir(data_dir / "mail" / "example.test" / "alice" / "tmp") == []
