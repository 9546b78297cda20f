"""What a hostile client can make a server spend: mailtool against Dovecot and Postfix.

Issue 15's reproductions, each run against mailtool and the peer in the same run,
printing what the server side spent (RSS growth of the whole process tree, sampled
every 20 ms) and, for the login burst, how long an unrelated client waited:

* ``fetch-amplify``  one 1 MB message, ``FETCH 1 (BODY.PEEK[TEXT] x300)``, the client
  reads the whole answer (300 MB): peak RSS growth (Dovecot IMAP);
* ``fetch-unread``   50 x 1 MB messages, ``FETCH 1:* BODY.PEEK[]``, the client never
  reads: RSS growth after 3 s, and whether the server hung up (Dovecot IMAP);
* ``data-unfinished`` ten SMTP sessions each send 20 MB of DATA without the final dot:
  RSS growth (Postfix smtpd, which spools to its queue file);
* ``login-burst``    30 parallel successful IMAP LOGINs (argon2id on both sides) while
  another logged-in client runs NOOP round trips: the worst NOOP latency (Dovecot).

    sudo .venv/bin/python bench/bench_hostile.py            # all figures, 3 runs each
    sudo .venv/bin/python bench/bench_hostile.py --only login-burst --runs 5

Needs Dovecot (``dovecot-imapd``) and Postfix; as root, like the other benches.
Figures are printed, not asserted: the bounds the issue sets are asserted in tests/.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pop3 import fill_maildir, machine

from tests.harness import MailtoolServer
from tests.peers.dovecot import Dovecot, ensure_mail_user
from tests.peers.postfix import Postfix

PASSWORD = "bench-password"
USER = "victim@bench.test"
MB = 1024 * 1024


# ------------------------------------------------------------------ measuring


def tree_rss(root_pid: int) -> int:
    """Sum of VmRSS over ``root_pid`` and all its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class PeakSampler:
    """Samples tree_rss(pid) every 20 ms in a thread; ``peak`` and ``last``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base = tree_rss(pid)
        self.peak = self.last = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.last = tree_rss(self.pid)
            self.peak = max(self.peak, self.last)

    def stop(self) -> tuple[int, int]:
        """(peak growth, last growth) in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak - self.base, self.last - self.base


# -------------------------------------------------------------------- servers


def message(size: int, n: int) -> bytes:
    head = f"From: a@bench.test\r\nTo: {USER}\r\nSubject: big {n}\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * ((size - len(head)) // len(line))


class Target:
    name: str
    imap_port: int
    smtp_port: int = 0
    pid: int
    login: str

    def stop(self) -> None: ...


class MailtoolTarget(Target):
    def __init__(self, root: Path, messages: list[bytes]) -> None:
        from mailtool.store.accounts import AccountStore

        self.name, self.login = "mailtool", USER
        self.server = MailtoolServer(
            root / "mailtool",
            services=("imap", "smtp"),
            config={
                "security": {"plaintext_auth_on_loopback": True},
                "limits": {"max_connections_per_ip": 1000, "max_connections": 2000},
            },
        )
        accounts = AccountStore(self.server.data_dir / "accounts.db")
        accounts.add_domain("bench.test")
        accounts.add_user(USER, PASSWORD)
        maildir = accounts.maildir_path(USER)
        accounts.close()
        fill_maildir(maildir, messages, None)
        self.server.start()
        self.imap_port, self.smtp_port = self.server.port("imap"), self.server.port("smtp")
        assert self.server.proc is not None
        self.pid = self.server.proc.pid

    def stop(self) -> None:
        self.server.stop()


class DovecotTarget(Target):
    def __init__(self, root: Path, messages: list[bytes]) -> None:
        self.name, self.login = "dovecot", "victim"
        hashed = subprocess.run(
            ["doveadm", "pw", "-s", "ARGON2ID", "-p", PASSWORD],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        self.dovecot = Dovecot(root / "dovecot", users={"victim": PASSWORD}, pop3=False)
        self.dovecot.start()
        assert self.dovecot.run_dir is not None and self.dovecot.proc is not None
        # same password cost as ours: argon2id, then reload the passwd-file
        (self.dovecot.run_dir / "users.passwd").write_text(f"victim:{hashed}::::::\n")
        owner = None
        if os.geteuid() == 0:
            pw = ensure_mail_user()
            owner = (pw.pw_uid, pw.pw_gid)
        fill_maildir(self.dovecot.maildir("victim"), messages, owner)
        self.imap_port, self.pid = self.dovecot.imap_port, self.dovecot.proc.pid

    def stop(self) -> None:
        self.dovecot.stop()


class PostfixTarget(Target):
    def __init__(self, root: Path) -> None:
        self.name = "postfix"
        self.postfix = Postfix(
            options={"message_size_limit": str(60 * MB), "smtpd_client_connection_count_limit": "0"}
        ).start()
        self.smtp_port = self.postfix.port
        master = Path(self.postfix.workdir / "queue" / "pid" / "master.pid")
        self.pid = int(master.read_text().split()[0])

    def stop(self) -> None:
        self.postfix.stop()


# -------------------------------------------------------------------- clients


def imap_login(port: int, user: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.recv(4096)
    sock.sendall(f'a LOGIN "{user}" "{PASSWORD}"\r\n'.encode())
    answer = b""
    while b"\r\n" not in answer[answer.find(b"a ") :] or b"a " not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during LOGIN")
        answer += chunk
    if b"a OK" not in answer:
        raise RuntimeError(f"LOGIN {user}: {answer[-200:]!r}")
    return sock


def _until(sock: socket.socket, marker: bytes, keep: int = 64) -> int:
    """Read until ``marker`` (keeping only a tail); returns bytes read."""
    tail, total = b"", 0
    while marker not in tail:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError(f"closed before {marker!r}")
        total += len(chunk)
        tail = (tail + chunk)[-(keep + len(marker)) :]
    return total


def fetch_amplify(t: Target) -> str:
    sock = imap_login(t.imap_port, t.login)
    sock.sendall(b"s SELECT INBOX\r\n")
    _until(sock, b"s OK")
    sampler = PeakSampler(t.pid)
    sock.sendall(b"f FETCH 1 (" + b" ".join([b"BODY.PEEK[TEXT]"] * 300) + b")\r\n")
    got = _until(sock, b"\r\nf ")
    peak, _ = sampler.stop()
    sock.close()
    return f"peak RSS +{peak / MB:7.1f} MB for a {got / MB:.0f} MB answer"


def fetch_unread(t: Target) -> str:
    sock = imap_login(t.imap_port, t.login)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(b"s SELECT INBOX\r\n")
    _until(sock, b"s OK")
    sampler = PeakSampler(t.pid)
    sock.sendall(b"f FETCH 1:* BODY.PEEK[]\r\n")
    time.sleep(3)
    peak, last = sampler.stop()
    sock.close()
    return f"peak RSS +{peak / MB:7.1f} MB, +{last / MB:7.1f} MB after 3 s of not reading"


def data_unfinished(t: Target) -> str:
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", t.smtp_port), timeout=60)
        s.recv(4096)
        s.sendall(b"EHLO bench.test\r\n")
        _until(s, b"250 ")
        rcpt = USER if t.name == "mailtool" else "postmaster@postfix.test"
        s.sendall(f"MAIL FROM:<a@bench.test>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        _until(s, b"354 ")
        socks.append(s)
    sampler = PeakSampler(t.pid)
    line = b"y" * 998 + b"\r\n"
    block = line * 1024  # ~1 MB
    for _ in range(20):
        for s in socks:
            s.sendall(block)
    time.sleep(1)
    peak, last = sampler.stop()
    for s in socks:
        s.close()
    return f"peak RSS +{peak / MB:7.1f} MB for 10 x 20 MB unfinished DATA (+{last / MB:.1f} held)"


def login_burst(t: Target) -> str:
    probe = imap_login(t.imap_port, t.login)
    latencies: list[float] = []
    stop = threading.Event()

    def noops() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            start = time.perf_counter()
            probe.sendall(b"n%d NOOP\r\n" % n)
            _until(probe, b"n%d OK" % n)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.01)

    thread = threading.Thread(target=noops)
    thread.start()
    time.sleep(0.2)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        for sock in pool.map(lambda _: imap_login(t.imap_port, t.login), range(30)):
            sock.close()
    burst = time.perf_counter() - start
    stop.set()
    thread.join()
    probe.close()
    return (
        f"30 logins in {burst:5.2f} s; other client's NOOP: worst {max(latencies) * 1000:6.1f} ms,"
        f" median {statistics.median(latencies) * 1000:5.1f} ms"
    )


FIGURES: dict[str, tuple[Callable[[Target], str], str]] = {
    "fetch-amplify": (fetch_amplify, "imap"),
    "fetch-unread": (fetch_unread, "imap"),
    "data-unfinished": (data_unfinished, "smtp"),
    "login-burst": (login_burst, "imap"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(FIGURES))
    args = parser.parse_args()
    print(machine())
    wanted = args.only.split(",")
    messages = [message(MB, n) for n in range(50)]
    root = Path(tempfile.mkdtemp(prefix="bench-hostile-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    targets: list[Target] = [MailtoolTarget(root, messages)]
    try:
        if any(FIGURES[w][1] == "imap" for w in wanted):
            targets.append(DovecotTarget(root, messages))
        if "data-unfinished" in wanted:
            targets.append(PostfixTarget(root))
        for name in wanted:
            func, proto = FIGURES[name]
            for run in range(args.runs):
                for t in targets:
                    if (proto == "imap" and t.name == "postfix") or (
                        proto == "smtp" and t.name == "dovecot"
                    ):
                        continue
                    print(f"{name:16} run {run + 1}  {t.name:9} {func(t)}", flush=True)
                    time.sleep(0.5)
    finally:
        for t in targets:
            t.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
