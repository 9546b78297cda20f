"""IMAP: mailtool against a private Dovecot, same run, same messages, same client.

Four figures, each a median of at least 3 runs, every run printed, with the
ratio mailtool time / Dovecot time (< 1 means mailtool is faster) and the load
average; the server that goes first alternates from run to run:

* ``append``  - N APPENDs of 2-8 KB messages in one session, each waiting for
  its OK (both servers fsync before OK), into a fresh folder per run; the two
  servers take turns every 50 APPENDs, so both meet the same disk weather;
* ``select``  - SELECT + ``UID FETCH 1:* (FLAGS)`` on a 100,000-message INBOX;
* ``search``  - ``UID SEARCH SUBJECT`` on that INBOX (a header search that must
  look at every message);
* ``sessions``- 200 concurrent sessions: connect, LOGIN, SELECT a 100-message
  INBOX, ``UID FETCH 1:* (FLAGS)``, LOGOUT; wall time for all of them;
* ``imaplib`` - APPENDs with Python's imaplib, which sends a synchronizing literal and
  waits for the ``+`` (as many desktop clients do): the Nagle/delayed-ACK figure;
* ``sync``    - a client's first sync: SELECT + ``UID FETCH 1:* (FLAGS INTERNALDATE
  RFC822.SIZE ENVELOPE)`` on INBOXes of each ``--fetch-sizes`` size.

The first times are figures too. The first SELECT after the big INBOX's files appeared
in ``new/`` cannot be repeated on one folder: ``--first-runs`` users hold a copy of the
big INBOX each, one first SELECT a run. The first SEARCH is measured once.
Each figure ends with a ``BENCH`` line for bench/summary.py (issue 22's table).

Both big INBOXes are filled as plain Maildir files in ``new/`` (as an MDA would
leave them) and indexed by each server in an untimed warm-up SELECT. mailtool's
SELECT reads only its index: one extra SELECT + FETCH runs under
``strace -e openat`` (when strace exists) and the output says how many message
files it opened. Logins: Dovecot would check a PLAIN passwd-file entry,
mailtool an argon2id hash; Dovecot's users get ARGON2ID hashes too (``doveadm pw``),
so both pay the same password cost.

    sudo .venv/bin/python bench/bench_imap.py                     # full size
    sudo .venv/bin/python bench/bench_imap.py --big 20000 --appends 500   # quicker
    sudo .venv/bin/python bench/bench_imap.py --only sync --fetch-sizes 20000,100000

Needs Dovecot (Debian ``dovecot-imapd``); as root Dovecot's mail belongs to the
system user ``vmail``. Dovecot's process and per-user connection limits are
raised for the 200 sessions (said in the output). Every run writes into fresh
folders; everything is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pop3 import fill_maildir, machine, make_messages, tree_cpu
from summary import report as bench_line

import tests.peers.dovecot as dovecot_peer
from tests.harness import MailtoolServer
from tests.peers.dovecot import Dovecot, ensure_mail_user

PASSWORD = "bench-password"
BIG = "big@bench.test"
SMALL = [f"s{i}@bench.test" for i in range(200)]
#: what the 200-session test needs from Dovecot (stock: 100 processes, 10 per user+IP)
DOVECOT_LIMITS = "default_process_limit = 1000\ndefault_client_limit = 4000\n"
#: APPENDs one server makes before the other takes its turn (see append_run)
APPEND_BLOCK = 50
#: imaplib APPENDs per turn: a figure of 50 in all still takes five turns a side
IMAPLIB_BLOCK = 5


class Client:
    """A minimal blocking IMAP client: enough for LOGIN, SELECT, FETCH, SEARCH, APPEND."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.buf = b""
        self.n = 0
        self._until(b"\r\n")

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _tagged(self, tag: bytes) -> bytes:
        """Everything up to and including the line that starts with ``tag``.

        Keeps only a short tail of what it has looked at in the buffer: rescanning the
        whole buffer after every recv() made a 4 MB FETCH answer cost the client more
        the more pieces the server wrote it in (a cost of the client, not the server).
        """
        start = tag + b" "
        mid = b"\r\n" + start
        parts: list[bytes] = []  # what is known to come before the tagged line
        buf, found = self.buf, -1  # found: where the tagged line starts
        while True:
            if found < 0:
                if not parts and buf.startswith(start):
                    found = 0
                elif (j := buf.find(mid)) >= 0:
                    found = j + 2
                else:  # keep only a tail that may be the start of the marker
                    cut = max(len(buf) - len(mid) + 1, 0)
                    if cut:
                        parts.append(buf[:cut])
                        buf = buf[cut:]
            if found >= 0 and (end := buf.find(b"\r\n", found)) >= 0:
                parts.append(buf[: end + 2])
                self.buf = buf[end + 2 :]
                return b"".join(parts)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk

    def cmd(self, text: bytes, literal: bytes | None = None) -> bytes:
        self.n += 1
        tag = b"b%d" % self.n
        data = tag + b" " + text
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        out = self._tagged(tag)
        status = out[out.rindex(tag + b" ") + len(tag) + 1 :][:2]
        if status != b"OK":
            raise RuntimeError(out[-300:].decode(errors="replace"))
        return out

    def close(self) -> None:
        self.cmd(b"LOGOUT")
        self.sock.close()


def login(port: int, user: str) -> Client:
    c = Client(port)
    c.cmd(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))
    return c


# ---------------------------------------------------------------- workloads


def in_turns(
    sides: list[str], messages: list[bytes], block: int, append: Callable[[str, bytes], None]
) -> dict[str, float]:
    """``append(side, message)`` for every message on every side, the sides taking turns
    a block at a time (who goes first alternates too): APPEND waits for an fsync, and the
    disk of a shared machine changes speed from one minute to the next, so two runs one
    after the other measure the neighbours as much as the servers. Returns the summed
    time per side."""
    totals = dict.fromkeys(sides, 0.0)
    order = list(sides)
    for i in range(0, len(messages), block):
        for side in order:
            start = time.perf_counter()
            for m in messages[i : i + block]:
                append(side, m)
            totals[side] += time.perf_counter() - start
        order.reverse()
    return totals


def append_run(
    ports: dict[str, int], users: dict[str, str], folder: str, messages: list[bytes]
) -> dict[str, float]:
    """Both servers APPEND the same messages with LITERAL+, in turns of
    :data:`APPEND_BLOCK` (:func:`in_turns`). Returns the summed time per server."""
    clients = {side: login(port, users[side]) for side, port in ports.items()}
    for c in clients.values():
        c.cmd(b"CREATE " + folder.encode())
    totals = in_turns(list(ports), messages, APPEND_BLOCK,
                      lambda side, m: clients[side].cmd(b"APPEND " + folder.encode(), m))
    for c in clients.values():
        c.close()
    return totals


SYNC_ITEMS = b"(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"


def select_run(port: int, user: str, expected: int, items: bytes = b"(FLAGS)") -> float:
    """SELECT INBOX + ``UID FETCH 1:* items``; with :data:`SYNC_ITEMS` a client's first
    sync of a folder (every message's list-view items)."""
    c = login(port, user)
    start = time.perf_counter()
    c.cmd(b"SELECT INBOX")
    out = c.cmd(b"UID FETCH 1:* " + items)
    seconds = time.perf_counter() - start
    if out.count(b" FETCH (") != expected:
        raise RuntimeError(f"{out.count(b' FETCH (')} FETCH lines, expected {expected}")
    c.close()
    return seconds


def imaplib_append_run(
    ports: dict[str, int], users: dict[str, str], folder: str, messages: list[bytes]
) -> dict[str, float]:
    """APPENDs through imaplib (a synchronizing literal: the client waits for ``+``), in
    turns of :data:`IMAPLIB_BLOCK` (:func:`in_turns`; one server after the other, the
    ratio of 50 APPENDs swung from 0.6 to 1.3 with the neighbours' disk use)."""
    clients = {}
    for side, port in ports.items():
        c = clients[side] = imaplib.IMAP4("127.0.0.1", port)
        c.login(users[side], PASSWORD)
        c.create(folder)

    def append(side: str, message: bytes) -> None:
        typ, data = clients[side].append(folder, None, None, message)
        if typ != "OK":
            raise RuntimeError(f"imaplib APPEND to {side}: {typ} {data!r}")

    totals = in_turns(list(ports), messages, IMAPLIB_BLOCK, append)
    for c in clients.values():
        c.logout()
    return totals


def search_run(port: int, user: str, needle: str) -> float:
    c = login(port, user)
    c.cmd(b"EXAMINE INBOX")
    start = time.perf_counter()
    out = c.cmd(b'UID SEARCH SUBJECT "%s"' % needle.encode())
    seconds = time.perf_counter() - start
    if b"* SEARCH " not in out:
        raise RuntimeError("no match")
    c.close()
    return seconds


def sessions_run(port: int, users: list[str], side: str = "") -> float:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(users) + 1)

    def one(user: str) -> None:
        try:
            barrier.wait()
            c = login(port, user)
            c.cmd(b"SELECT INBOX")
            c.cmd(b"UID FETCH 1:* (FLAGS)")
            c.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(u,)) for u in users]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        # reported, not fatal: under heavy load Dovecot's one auth process can take
        # longer than its login timeout and the login process hangs up
        failed = f"{len(errors)} of {len(users)} sessions failed"
        print(f"sessions  {side:9} {failed}, first: {errors[0]!r}")
    return seconds


# ---------------------------------------------------------------- servers


def sync_user(size: int) -> str:
    """The user whose INBOX holds ``size`` messages for the sync figure."""
    return f"sync{size}@bench.test"


def first_users(runs: int) -> list[str]:
    """The users whose INBOX each server SELECTs first after the files were dropped,
    one a run: the big one, then copies of it (a first SELECT happens once a folder)."""
    return [BIG, *(f"first{k}@bench.test" for k in range(1, runs))]


@dataclass(frozen=True)
class Layout:
    """Which users the bench adds beside the big and small ones: ``first_runs`` big
    INBOXes (:func:`first_users`) holding the first ``big_count`` messages of ``big``
    (all: None), and a sync user of each of ``sync_sizes`` (:func:`sync_user`)."""

    sync_sizes: Sequence[int] = ()
    first_runs: int = 1
    big_count: int | None = None

    def mailboxes(self, big: list[bytes], small: list[bytes]) -> dict[str, list[bytes]]:
        """Each user's INBOX, as both servers get it."""
        boxes = dict.fromkeys(first_users(self.first_runs), big[: self.big_count])
        boxes.update(dict.fromkeys(SMALL, small))
        boxes.update({sync_user(size): big[:size] for size in self.sync_sizes})
        return boxes


def start_mailtool(
    root: Path, big: list[bytes], small: list[bytes], layout: Layout = Layout()
) -> MailtoolServer:
    from mailtool.store.accounts import AccountStore

    server = MailtoolServer(
        root / "mailtool",
        services=("imap",),
        config={
            "security": {"plaintext_auth_on_loopback": True},
            "limits": {
                "max_connections_per_ip": 1000,
                "max_connections": 2000,
                "max_connections_per_user": 1000,
            },
        },
    )
    accounts = AccountStore(server.data_dir / "accounts.db")
    accounts.add_domain("bench.test")
    for user, messages in layout.mailboxes(big, small).items():
        accounts.add_user(user, PASSWORD)
        fill_maildir(accounts.maildir_path(user), messages, None)
    accounts.close()
    return server.start()


def wait_moved(server: MailtoolServer, user: str = BIG, timeout: float = 120.0) -> float:
    """Seconds until ``user``'s INBOX's new/ is empty: mailtool moves the files its first
    SELECT claimed to cur/ after answering (mailtool/store/recent_moves.py), and the
    next figure must not be timed beside that work."""
    from mailtool.store.accounts import AccountStore

    accounts = AccountStore(server.data_dir / "accounts.db")
    new = accounts.maildir_path(user) / "new"
    accounts.close()
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        with os.scandir(new) as entries:
            if next(entries, None) is None:
                break
        time.sleep(0.01)
    return time.perf_counter() - start


def wait_quiet(pid: int, timeout: float = 120.0) -> float:
    """Seconds until the process tree of ``pid`` stops using CPU (under 10% of a core over
    0.2 s): mailtool makes the header-cache rows of a first SEARCH after answering it
    (mailtool/mra/imap/header_fill.py); the next figure must not be timed beside that."""
    start = time.perf_counter()
    used = tree_cpu(pid)
    while time.perf_counter() - start < timeout:
        time.sleep(0.2)
        now = tree_cpu(pid)
        if now - used < 0.02:
            break
        used = now
    return time.perf_counter() - start


def start_dovecot(
    root: Path, big: list[bytes], small: list[bytes], layout: Layout = Layout()
) -> Dovecot:
    """Dovecot with the users and messages :func:`start_mailtool` gives mailtool."""
    if DOVECOT_LIMITS not in dovecot_peer._CONFIG:
        dovecot_peer._CONFIG += DOVECOT_LIMITS
    boxes = {user.split("@")[0]: box for user, box in layout.mailboxes(big, small).items()}
    users = dict.fromkeys(boxes, PASSWORD)
    dc = Dovecot(root / "dovecot", users=users, imap=True, pop3=False).start()
    owner = None
    if os.geteuid() == 0:
        pw = ensure_mail_user()
        owner = (pw.pw_uid, pw.pw_gid)
    # the same password hashing cost as mailtool's argon2id (Dovecot re-reads the file)
    hashed = subprocess.run(
        ["doveadm", "pw", "-s", "ARGON2ID", "-p", PASSWORD], capture_output=True, text=True
    ).stdout.strip()
    if hashed.startswith("{ARGON2ID}"):
        assert dc.run_dir is not None
        passwd = dc.run_dir / "users.passwd"
        passwd.write_text("".join(f"{u}:{hashed}::::::\n" for u in users))
    for user, messages in boxes.items():
        fill_maildir(dc.maildir(user), messages, owner)
    return dc


def opened_message_files(pid: int, action: Callable[[], float], maildir: Path) -> tuple[float, int]:
    """Run ``action`` while strace watches the server's openat calls (if strace exists)."""
    strace = shutil.which("strace")
    if strace is None:
        return action(), -1
    log = maildir.parent / "strace.log"
    proc = subprocess.Popen(
        [strace, "-f", "-e", "trace=openat,open", "-o", str(log), "-p", str(pid)],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    try:
        seconds = action()
    finally:
        proc.terminate()
        proc.wait()
    text = log.read_text(errors="replace")
    return seconds, sum(1 for line in text.splitlines() if "/cur/" in line or "/new/" in line)


# ---------------------------------------------------------------- main


def alternate(ports: dict[str, int], run: int) -> list[tuple[str, int]]:
    """The servers in turn, the other one first on every other run (neither always
    meets the machine right after the other has loaded it)."""
    pairs = list(ports.items())
    return pairs if run % 2 == 0 else pairs[::-1]


def report(
    name: str, times: dict[str, list[float]], figure: str = "", target: str = "", unit: str = "s"
) -> dict[str, float]:
    """Print each side's runs and the ratio, then (given a ``figure`` name) its BENCH line
    (time: lower is better); returns the medians."""
    medians = {side: statistics.median(t) for side, t in times.items()}
    for side, t in times.items():
        runs = " ".join(f"{x:.3f}" for x in t)
        print(f"{name:9} {side:9} runs [{runs}] median {medians[side]:.3f} {unit}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{name:9} ratio mailtool/dovecot (time): {medians['mailtool'] / medians['dovecot']:.2f}"
          f"   (load average now {load})")  # fmt: skip
    if figure:
        bench_line(figure, medians["mailtool"], medians["dovecot"], unit=unit,
                   peer_name="Dovecot", higher_is_better=False, target=target,
                   runs=len(times["mailtool"]))
    return medians


def rate_line(figure: str, count: int, medians: dict[str, float], target: str) -> None:
    """A throughput figure (messages per second) from the medians of timed runs."""
    bench_line(figure, count / medians["mailtool"], count / medians["dovecot"], unit="msg/s",
               peer_name="Dovecot", higher_is_better=True, target=target)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", type=int, default=100_000, help="messages in the big INBOX")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--first-runs", type=int, default=3,
                        help="first SELECTs timed a side (each on its own copy of the big INBOX)")
    parser.add_argument("--imaplib-appends", type=int, default=50)
    parser.add_argument("--fetch-sizes", default="20000",
                        help="comma-separated INBOX sizes for the first-sync figure")
    parser.add_argument("--only", default="append,imaplib,select,search,sessions,sync")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")
    only = set(args.only.split(","))
    users = SMALL[: args.sessions]
    sync_sizes = [int(n) for n in args.fetch_sizes.split(",") if n] if "sync" in only else []

    count = max([args.big, *sync_sizes])
    big = [m.replace(b"Subject: message", b"Subject: msg") for m in make_messages(count)]
    small = make_messages(100, seed=2)
    appends = make_messages(args.appends, seed=3)
    root = Path(tempfile.mkdtemp(prefix="bench-imap-", dir="/var/tmp"))
    print(f"# {machine()}")
    print(f"# big INBOX {args.big} messages; {args.appends} APPENDs; {len(users)} sessions")
    print(f"# Dovecot limits raised: {DOVECOT_LIMITS.strip()!r}, mail_max_userip_connections=1000")
    print("# logins: both servers verify an argon2id hash (Dovecot: doveadm pw -s ARGON2ID)")
    # the sync users may hold more than the big INBOX: each side gets the whole list
    layout = Layout(sync_sizes, args.first_runs, args.big)
    mailtool = start_mailtool(root, big, small, layout)
    dovecot = None
    try:
        dovecot = start_dovecot(root, big, small, layout)
        ports = {"mailtool": mailtool.port("imap"), "dovecot": dovecot.imap_port}
        who = {"mailtool": (BIG, users), "dovecot": ("big", [u.split("@")[0] for u in users])}
        first: dict[str, list[float]] = {s: [] for s in ports}
        # each server indexes the new files of a user once: one user a run
        for run, user in enumerate(first_users(args.first_runs)):
            for side, port in alternate(ports, run):
                login = user if side == "mailtool" else user.split("@")[0]
                first[side].append(select_run(port, login, args.big))
                print(f"first     {side:9} {user}: first SELECT + UID FETCH "
                      f"{first[side][-1]:.3f} s")
                if side == "mailtool":
                    print(f"first     mailtool  its new/ -> cur/ moves done "
                          f"{wait_moved(mailtool, user):.3f} s after that")
        report("first", first, f"first SELECT after {args.big:,} files dropped in new/",
               "<= 1.0x time")
        if "append" in only:
            times: dict[str, list[float]] = {s: [] for s in ports}
            for run in range(args.runs):
                logins = {side: who[side][0] for side in ports}
                for side, t in append_run(ports, logins, f"Run{run}", appends).items():
                    times[side].append(t)
            medians = report("append", times, f"IMAP APPEND LITERAL+, {args.appends} (total s)")
            for side, t in times.items():
                print(f"append    {side:9} {args.appends / statistics.median(t):.0f} msg/s")
            rate_line(f"IMAP APPEND, raw client with LITERAL+, {args.appends} x 2-8 KB",
                      args.appends, medians, ">= 1.0x")
        if "imaplib" in only:
            some = appends[: args.imaplib_appends]
            times = {s: [] for s in ports}
            for run in range(args.runs):
                logins = {side: who[side][0] for side in ports}
                for side, t in imaplib_append_run(ports, logins, f"Lib{run}", some).items():
                    times[side].append(t)
            medians = report("imaplib", times, f"IMAP APPEND with imaplib, {len(some)} (total s)")
            rate_line(f"IMAP APPEND with imaplib (waits for +), {len(some)} x 2-8 KB",
                      len(some), medians, ">= 1.0x")
        if "select" in only:
            times = {s: [] for s in ports}
            for run in range(args.runs):
                for side, port in alternate(ports, run):
                    times[side].append(select_run(port, who[side][0], args.big))
            report("select", times, f"SELECT + UID FETCH 1:* (FLAGS), {args.big:,}", "keep")
            assert mailtool.proc is not None
            _, opened = opened_message_files(
                mailtool.proc.pid,
                lambda: select_run(ports["mailtool"], BIG, args.big),
                root,
            )
            print(f"select    mailtool message files opened during SELECT + FETCH: {opened}"
                  + (" (strace not installed)" if opened < 0 else ""))  # fmt: skip
        if "search" in only:
            needle = f"msg {args.big - 1} "
            cold: dict[str, list[float]] = {s: [] for s in ports}
            for side, port in ports.items():  # the first ever: Dovecot fills its cache here
                cold[side].append(search_run(port, who[side][0], needle))
                print(f"warm-up   {side:9} first SEARCH {cold[side][0]:.3f} s")
                if side == "mailtool":
                    assert mailtool.proc is not None
                    print("warm-up   mailtool  its header-cache rows made "
                          f"{wait_quiet(mailtool.proc.pid):.3f} s after that")
            report("search1", cold, f"UID SEARCH SUBJECT first ever, {args.big:,} (one run)",
                   "<= 1.0x time")
            times = {s: [] for s in ports}
            for run in range(args.runs):
                for side, port in alternate(ports, run):
                    times[side].append(search_run(port, who[side][0], needle))
            report("search", times, f"UID SEARCH SUBJECT warm, {args.big:,}", "<= 1.0x time")
        if "sessions" in only:
            times = {s: [] for s in ports}
            for run in range(args.runs):
                for side, port in alternate(ports, run):
                    times[side].append(sessions_run(port, who[side][1], side))
            report("sessions", times, f"{len(users)} concurrent sessions", "keep")
        for size in sync_sizes:
            user = {"mailtool": sync_user(size), "dovecot": sync_user(size).split("@")[0]}
            for side, port in ports.items():  # untimed: each server indexes the files
                first = select_run(port, user[side], size, SYNC_ITEMS)  # and fills its caches
                print(f"warm-up   {side:9} first-ever sync (files indexed, caches filled) "
                      f"{first:.3f} s")
            times = {s: [] for s in ports}
            for run in range(args.runs):
                for side, port in alternate(ports, run):
                    times[side].append(select_run(port, user[side], size, SYNC_ITEMS))
            report("sync", times, f"first sync: SELECT + UID FETCH 1:* {SYNC_ITEMS.decode()}, "
                   f"{size:,}", "<= 1.0x time")
    finally:
        mailtool.stop()
        if dovecot is not None:
            dovecot.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
