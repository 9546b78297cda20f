"""TRANSACTION and UPDATE states (RFC 1939 §5, §6): listings, RETR/TOP with
byte-stuffing, DELE/RSET marks, the maildrop lock, and what IMAP sees after QUIT."""

from __future__ import annotations

import imaplib
import poplib
import re
from pathlib import Path

import pytest

from tests.mra.pop3.conftest import PASSWORD, Pop3Env, client_tls, message


def joined(lines: list[bytes]) -> bytes:
    """poplib's un-stuffed lines back into the message's bytes."""
    return b"".join(line + b"\r\n" for line in lines)


def test_stat_list_uidl(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=3)
    sizes = [len(message(n)) for n in (1, 2, 3)]
    pop = pop3_env.login(user)
    assert pop.stat() == (3, sum(sizes))
    _, listing, _ = pop.list()
    assert listing == [f"{n} {s}".encode() for n, s in enumerate(sizes, 1)]
    assert pop.list(2) == f"+OK 2 {sizes[1]}".encode()
    _, uidls, _ = pop.uidl()
    ids = [line.split()[1] for line in uidls]
    assert len(set(ids)) == 3 and all(re.fullmatch(rb"[0-9A-F]{16}", i) for i in ids)
    assert pop.uidl(3).split()[2] == ids[2]
    for bad in ("LIST 4", "LIST 0", "UIDL 9", "RETR 4", "TOP 5 1", "DELE 4", "LIST x"):
        with pytest.raises(poplib.error_proto, match="-ERR"):
            pop._shortcmd(bad)
    assert pop.noop().startswith(b"+OK")
    pop.quit()


def test_retr_and_top_are_byte_stuffed_and_exact(pop3_env: Pop3Env) -> None:
    body = b"line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
    data = b"Subject: dots\r\nX-A: b\r\n\r\n" + body
    user = pop3_env.new_user()
    pop3_env.deliver(user, data)
    pop = pop3_env.login(user)
    _, lines, octets = pop.retr(1)
    assert joined(lines) == data and octets == len(data)
    # the raw wire: every content line starting with "." got one more (RFC 1939 §3)
    pop._putcmd("RETR 1")
    raw = [pop._getline()[0] for _ in range(10)]
    assert raw[0].startswith(b"+OK")
    assert raw[5:10] == [b"..starts with a dot", b"...two dots", b"..", b"last", b"."]
    _, top0, _ = pop.top(1, 0)
    assert joined(top0) == b"Subject: dots\r\nX-A: b\r\n\r\n"
    _, top2, _ = pop.top(1, 2)
    assert joined(top2) == b"Subject: dots\r\nX-A: b\r\n\r\nline one\r\n.starts with a dot\r\n"
    _, top99, _ = pop.top(1, 99)
    assert joined(top99) == data
    pop.quit()


def test_dele_rset_and_update(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=3)
    pop = pop3_env.login(user)
    pop.dele(1)
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop.dele(1)  # RFC 1939 §5: already deleted
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop.retr(1)
    assert pop.stat()[0] == 2
    assert [line.split()[0] for line in pop.list()[1]] == [b"2", b"3"]
    pop.rset()
    assert pop.stat()[0] == 3
    pop.dele(2)
    assert len(pop3_env.inbox(user).messages()) == 3  # nothing happens before UPDATE
    assert b"1 deleted" in pop.quit()
    subjects = [pop3_env.inbox(user).read_bytes(m.uid) for m in pop3_env.inbox(user).messages()]
    assert subjects == [message(1), message(3)]


def test_dropped_connection_deletes_nothing(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=2)
    pop = pop3_env.login(user)
    pop.dele(1)
    pop.dele(2)
    pop.file.close()
    pop.sock.close()  # no QUIT: RFC 1939 §6, no UPDATE state
    pop = pop3_env.login_after_drop(user)  # also proves the lock was released
    assert pop.stat()[0] == 2
    pop.quit()


def test_second_session_gets_in_use(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=1)
    first = pop3_env.login(user)
    second = pop3_env.tls()
    second.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_(PASSWORD)
    assert first.stat()[0] == 1  # the holder is unaffected
    first.quit()
    second.user(user)  # the lock went with QUIT
    assert second.pass_(PASSWORD).startswith(b"+OK")
    second.quit()


def test_lock_holds_across_processes(pop3_env: Pop3Env) -> None:
    """Another process (here: the test) holding the maildrop lock means [IN-USE] too."""
    user = pop3_env.new_user(messages=1)
    lock = pop3_env.mail.user(user).maildrop_lock()
    assert lock is not None
    try:
        pop = pop3_env.tls()
        pop.user(user)
        with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
            pop.pass_(PASSWORD)
    finally:
        lock.release()
    pop.user(user)
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    pop.quit()


def test_uidl_is_stable_and_never_reused(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=2)
    pop = pop3_env.login(user)
    first = dict(line.split()[::-1] for line in pop.uidl()[1])  # uidl -> number
    pop.dele(1)
    pop.quit()
    pop3_env.deliver(user, message(3))
    pop = pop3_env.login(user)
    now = [line.split()[1] for line in pop.uidl()[1]]
    pop.quit()
    deleted = next(u for u, n in first.items() if n == b"1")
    kept = next(u for u, n in first.items() if n == b"2")
    assert now[0] == kept  # same message, same id, although it is now number 1
    assert deleted not in now  # the new message got a new id
    assert len(now) == 2


def test_imap_sees_pop3_deletions_after_quit(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=3)
    inbox = pop3_env.inbox(user)
    modseq = inbox.status().highestmodseq
    uids = [m.uid for m in inbox.messages()]
    imap = imaplib.IMAP4_SSL(
        "127.0.0.1", pop3_env.server.port("imaps"), ssl_context=client_tls(), timeout=30
    )
    imap.login(user, PASSWORD)
    assert imap.select("INBOX")[1] == [b"3"]
    pop = pop3_env.login(user)
    pop.dele(2)
    assert imap.noop()[0] == "OK"  # IMAP keeps working while POP3 holds the maildrop
    assert imap.uid("SEARCH", "ALL")[1][0].split() == [str(u).encode() for u in uids]
    pop.quit()
    imap.noop()  # RFC 9051 §7.5.1: the expunge is reported at the next command
    assert imap.response("EXPUNGE")[1] == [b"2"]
    _, data = imap.uid("SEARCH", "ALL")
    assert data[0].split() == [str(uids[0]).encode(), str(uids[2]).encode()]
    imap.logout()
    # through the store: an ordinary expunge, visible to CONDSTORE/QRESYNC
    assert inbox.changes_since(modseq).vanished == [uids[1]]
    assert inbox.status().highestmodseq > modseq


def test_retr_marks_seen_for_imap(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=2)
    pop = pop3_env.login(user)
    pop.retr(2)
    pop.top(1, 0)  # TOP does not count as reading
    pop.quit()
    flags = {m.uid: m.flags for m in pop3_env.inbox(user).messages()}
    assert [("\\Seen" in f) for f in flags.values()] == [False, True]


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_retr_of_a_25_mb_message_streams(pop3_env: Pop3Env) -> None:
    """The server's peak RSS grows by far less than the message while sending it."""
    line = b"y" * 996 + b"\r\n"
    data = b"Subject: big\r\n\r\n" + line * (25 * 1024 * 1024 // len(line))
    user = pop3_env.new_user()
    pop3_env.deliver(user, data)
    pop = pop3_env.login(user)
    pid = pop3_env.server.proc.pid  # type: ignore[union-attr]
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = _memory_kb(pid, "VmRSS")
    _, lines, octets = pop.retr(1)
    peak = _memory_kb(pid, "VmHWM")
    pop.quit()
    assert octets == len(data) and joined(lines) == data
    assert (peak - before) * 1024 < len(data) // 2


def test_list_and_stat_of_files_dropped_into_new(pop3_env: Pop3Env) -> None:
    """Files another program dropped into new/, with and without ``,S=`` in the name, LF
    or CRLF line ends: LIST, STAT and RETR give the CRLF form (RFC 1939 §11: sizes count
    the CRLF pairs); the index learned no size at the drop (mailtool.store.index.UNSIZED)."""
    if pop3_env.server.store_url:
        pytest.skip("files dropped into a Maildir: the SQLite + Maildir store only")
    user = pop3_env.new_user()
    lf = b"Subject: lf\n\n" + b"a line\n" * 40
    crlf = lf.replace(b"\n", b"\r\n")
    new = pop3_env.mail.user(user).maildir.root / "new"
    for name, data in ((f"1700000001.M1P1.drop,S={len(lf)}", lf), ("1700000002.M2P1.drop", lf),
                       (f"1700000003.M3P1.drop,S={len(crlf)}", crlf[:-2])):  # fmt: skip
        (new / name).write_bytes(data)
    sizes = [len(crlf), len(crlf), len(crlf) - 2]
    pop = pop3_env.login(user)
    assert pop.stat() == (3, sum(sizes))
    assert pop.list()[1] == [f"{n} {s}".encode() for n, s in enumerate(sizes, 1)]
    assert joined(pop.retr(1)[1]) == crlf
    pop.quit()
