"""The first SELECT after many files arrived in new/ answers before their moves to cur/
(mailtool.store.recent_moves); FETCH BODY[] and STOREs of two sessions meanwhile read
the right bytes and lose no flag. Files in a Maildir: the SQLite + Maildir store only."""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.mra.imap.conftest import Imap

N = 3000  # 12 batches to move: they outlast the SELECT's answer by far


def _body(n: int) -> bytes:
    return f"From: a@example.test\r\nSubject: dropped {n}\r\n\r\nbody {n}\r\n".encode()


def _bodies(lines: list[bytes]) -> dict[int, bytes]:
    out = {}
    for line in lines:
        lit = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
        uid = re.search(rb"\(UID (\d+) ", line)
        assert lit and uid, line[:200]
        out[int(uid[1])] = line[lit.end() : lit.end() + int(lit[1])]
    return out


@pytest.mark.parametrize("shared_server", ["sqlite"], indirect=True)
def test_select_answers_before_the_moves_and_fetch_and_store_meanwhile(imap: Imap) -> None:
    root = imap.mail().maildir.root
    for i in range(N):  # another MDA's files; the sync indexes them in name order
        (root / "new" / f"1700000000.M{i:05d}P1.drop").write_bytes(_body(i))
    a, b = imap.wire(), imap.wire()
    assert a.cmd("SELECT INBOX").has(b"* %d RECENT" % N)
    left = len(os.listdir(root / "new"))
    assert left > 0, "the SELECT answered after every file was moved"
    # meanwhile: a FETCH BODY[] of every message (sets \Seen: a rename each) and
    # another session's STORE of every message (another rename each)
    a.send(b"f1 FETCH 1:* (UID BODY[])\r\n")
    assert b.cmd("SELECT INBOX").has(b"* 0 RECENT")
    assert b.cmd("STORE 1:* +FLAGS.SILENT (\\Flagged)").status == "OK"
    fetched = a.collect("f1")
    assert fetched.status == "OK"
    assert _bodies(fetched.lines(b"* ")) == {i + 1: _body(i) for i in range(N)}
    deadline = time.monotonic() + 30
    while os.listdir(root / "new") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.listdir(root / "new") == [], "all moved shortly after"
    names = os.listdir(root / "cur")
    assert len(names) == N and all(n.endswith(":2,FS") for n in names), "no flag lost"
    # unsolicited FETCHs of changes not yet announced may come first (RFC 9051 §7.5.2):
    # each message's last FLAGS is its state
    flags = {
        int(m[1]): frozenset(m[2].split())
        for m in (re.match(rb"\* (\d+) FETCH \(FLAGS \((.*?)\)", f)
                  for f in a.cmd("FETCH 1:* (FLAGS)").lines(b"* "))
        if m
    }  # fmt: skip
    assert len(flags) == N
    assert set(flags.values()) == {frozenset({b"\\Flagged", b"\\Recent", b"\\Seen"})}
    again = a.cmd("FETCH 1:* (UID BODY.PEEK[])")
    assert _bodies(again.lines(b"* ")) == {i + 1: _body(i) for i in range(N)}
    print(f"files still in new/ at the SELECT's OK: {left} of {N}")
