"""SMTP ingest + local delivery: mailtool against a private Postfix, same load, same run.

Load: Postfix's ``smtp-source -s 20 -l 2048 -m N`` (20 parallel sessions, 2 KB
messages). Measured end to end: from the first connection until the N-th
message is a file in the recipient's Maildir ``new/`` (both sides fsync: our
queue and Maildir writes, Postfix's queue file and virtual(8) delivery). Every
run goes to a fresh recipient / data directory (see BENCHMARKING.md: never
time file creation right after deleting many files); everything is removed
after the whole benchmark.

    .venv/bin/python bench/bench_smtp.py            # 3 runs each, 20000 messages
    .venv/bin/python bench/bench_smtp.py --messages 5000 --runs 3

Needs root (Postfix's daemons and its vmail user), postfix and smtp-source.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from summary import report as bench_line

from tests.peers.postfix import MASTER_CF  # the same master.cf as the tests

SMTP_SOURCE = "/usr/sbin/smtp-source"
#: serve as the bench's own user: as root it would drop to the service user, who cannot
#: read a Python installed under /root (pyenv)
AS_ME = f'[server]\nuser = "{pwd.getpwuid(os.geteuid()).pw_name}"\n'
POSTFIX = "/usr/sbin/postfix"
DOMAIN = "example.com"
SESSIONS = 20
SIZE = 2048
MAILUSER = "vmail"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count_new(maildir_new: Path) -> int:
    try:
        return sum(1 for _ in os.scandir(maildir_new))
    except FileNotFoundError:
        return 0


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` and all its descendants have used,
    the ones that ended included (a reaped child's time is in its parent's cutime/cstime;
    a child still unreaped at the end is missed, Postfix's master reaps at once)."""

    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile: its time is in its parent's cutime now
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        todo += children(p)
    return total / os.sysconf("SC_CLK_TCK")


def drive(
    port: int, rcpt: str, messages: int, maildir_new: Path, processes: Callable[[], int]
) -> tuple[float, float, int]:
    """Run smtp-source; returns (seconds until all accepted, seconds until all delivered,
    the most processes the server side had while it ran)."""
    start = time.perf_counter()
    source = subprocess.Popen(
        [SMTP_SOURCE, "-s", str(SESSIONS), "-l", str(SIZE), "-m", str(messages),
         "-f", "load@source.test", "-t", rcpt, "-M", "source.test", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
    )
    most = 0
    while source.poll() is None:
        most = max(most, processes())
        time.sleep(0.2)
    if source.returncode:
        raise RuntimeError(f"smtp-source failed ({source.returncode})")
    accepted = time.perf_counter() - start
    deadline = time.monotonic() + 600
    while count_new(maildir_new) < messages:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count_new(maildir_new)} of {messages} delivered")
        time.sleep(0.005)
    return accepted, time.perf_counter() - start, most


# --------------------------------------------------------------------------- mailtool


class Mailtool:
    def __init__(self, root: Path, workers: int = 1, extra_config: str = "") -> None:
        self.root = root
        self.extra_config = extra_config  # more TOML sections ([store] url: bench_cluster.py)
        self.data = root / "data"
        self.config = root / "mailtool.toml"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.workers = workers

    def cli(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run([sys.executable, "-m", "mailtool", "--config", str(self.config), *args],
                       input=stdin, text=True, check=True, capture_output=True)

    def start(self, users: list[str]) -> None:
        self.root.mkdir(parents=True)
        off = ["submission", "submissions", "imap", "imaps", "pop3", "pop3s", "managesieve"]
        listen = "\n".join(['smtp = "127.0.0.1:0"', *(f"{s} = false" for s in off)])
        self.config.write_text(
            f'data_dir = "{self.data}"\nhostname = "mt.bench.test"\n[listen]\n{listen}\n'
            + (f"[limits]\nsmtp_workers = {self.workers}\n" if self.workers else "")
            # the Postfix peer checks no SPF/DKIM/DMARC; the same work on both sides (and
            # no DNS queries to the machine's resolver, which may take seconds each)
            + "[auth]\ncheck_inbound = false\n" + self.extra_config
        )
        self.cli("domain", "add", DOMAIN)
        for user in users:
            self.cli("user", "add", user, "--password-stdin", stdin="bench-password\n")
        log = open(self.root / "serve.log", "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailtool", "--config", str(self.config), "serve"],
            stdout=subprocess.DEVNULL, stderr=log,
        )
        listeners = self.data / "run" / "listeners.json"
        deadline = time.monotonic() + 60
        while not listeners.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.root / "serve.log").read_text())
            time.sleep(0.05)
        self.port = int(json.loads(listeners.read_text())["smtp"].rpartition(":")[2])

    def maildir_new(self, user: str) -> Path:
        local, domain = user.split("@")
        return self.data / "mail" / domain / local / "new"

    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def processes(self) -> int:
        """The serve process and its SMTP workers."""
        return 1 + len(children(self.proc.pid)) if self.proc else 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)


# --------------------------------------------------------------------------- Postfix


class PrivatePostfix:
    """``postfix -c DIR``: own main.cf/master.cf, queue, and virtual(8) Maildirs under root
    (as /work/shared/peers/postfix/setup.sh does, on a free port)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.etc = root / "etc"
        self.port = free_port()

    def start(self, users: list[str]) -> None:
        if subprocess.run(["id", "-u", MAILUSER], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                            "/nonexistent", "--shell", "/usr/sbin/nologin", MAILUSER], check=True)
        uid = subprocess.run(["id", "-u", MAILUSER], capture_output=True, text=True).stdout.strip()
        gid = subprocess.run(["id", "-g", MAILUSER], capture_output=True, text=True).stdout.strip()
        for sub in ("etc", "queue", "data", "vmail", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        shutil.chown(self.root / "data", "postfix", "postfix")
        (self.root / "data").chmod(0o700)
        os.chown(self.root / "vmail", int(uid), int(gid))
        (self.etc / "vmailbox").write_text(
            "".join(f"{u} {DOMAIN}/{u.split('@')[0]}/\n" for u in users)
        )
        r = self.root
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
relay_domains =
local_recipient_maps =
local_transport = error:local delivery disabled
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {r}/vmail
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
maillog_file = {r}/log/maillog
maillog_file_prefixes = /var, /dev/stdout, {r}/log
""")
        master = Path("/work/shared/peers/postfix/etc/master.cf")
        if master.exists():
            text = master.read_text().replace("127.0.0.1:10025", f"127.0.0.1:{self.port}")
        else:
            text = MASTER_CF.format(listen=f"127.0.0.1:{self.port}")
        (self.etc / "master.cf").write_text(text)
        subprocess.run([POSTFIX, "-c", str(self.etc), "start"], check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("postfix did not start")
            time.sleep(0.1)

    def maildir_new(self, user: str) -> Path:
        return self.root / "vmail" / DOMAIN / user.split("@")[0] / "new"

    def pid(self) -> int:
        """The master's process id (0 when it is not running)."""
        try:
            return int((self.root / "queue" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def processes(self) -> int:
        """master and its children (smtpd per session, cleanup, trivial-rewrite, virtual...)."""
        master = self.pid()
        return 1 + len(children(master)) if master else 0

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.etc), "stop"], capture_output=True)




# --------------------------------------------------------------------------- main


def machine() -> str:
    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    from importlib.metadata import version as pkg_version

    postfix = version(["postconf", "-d", "-h", "mail_version"]) or "?"
    return (
        f"{platform.node()} nproc={os.cpu_count()} {platform.platform()} "
        f"python={platform.python_version()} aiosmtpd={pkg_version('aiosmtpd')} "
        f"postfix={postfix}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--warmup", type=int, default=500,
                        help="untimed messages to each side before the runs (0: none)")
    parser.add_argument("--smtp-workers", type=int, default=0,
                        help="mailtool's [limits] smtp_workers (default: 0, the default "
                        "config: nproc + 1 processes, at most 4, which measured ~13%% faster "
                        "than nproc here: a process waiting for the disk leaves its core to "
                        "another; Postfix runs an smtpd process per session)")
    args = parser.parse_args()
    for tool in (SMTP_SOURCE, POSTFIX):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} missing: apt-get install postfix")
    users = [f"rcpt{i}@{DOMAIN}" for i in range(args.runs)]
    warm_user = f"warmup@{DOMAIN}"
    root = Path(tempfile.mkdtemp(prefix="bench-smtp-", dir="/var/tmp"))
    root.chmod(0o755)
    mt = Mailtool(root / "mailtool", args.smtp_workers, extra_config=AS_ME)
    pf = PrivatePostfix(root / "postfix")
    print(f"machine: {machine()}")
    print(f"load: smtp-source -s {SESSIONS} -l {SIZE} -m {args.messages}, "
          "end to end (accepted + delivered into Maildir new/, fsync on both sides); "
          "no SPF/DKIM/DMARC checks on either side")
    workers = args.smtp_workers or "0 (the default: nproc + 1, at most 4)"
    print(f"processes: mailtool serve with smtp_workers = {workers} (SMTP on "
          "SO_REUSEPORT); Postfix master.cf defaults (an smtpd per session, cleanup, "
          "virtual...); each run prints the most seen")
    results: dict[str, list[float]] = {"mailtool": [], "postfix": []}
    cpu: dict[str, list[float]] = {"mailtool": [], "postfix": []}  # us a message
    try:
        mt.start([warm_user, *users])
        pf.start([warm_user, *users])
        if args.warmup:
            # untimed: both sides just started (Postfix's daemons, our lazy imports and
            # caches); without it the first timed run measured start-up as much as mail
            for side in (mt, pf):
                drive(side.port, warm_user, args.warmup, side.maildir_new(warm_user),
                      side.processes)
            print(f"warm-up: {args.warmup} messages to each side, untimed")
        for run, user in enumerate(users, 1):
            sides = [("mailtool", mt), ("postfix", pf)]
            for name, side in sides if run % 2 else sides[::-1]:  # who goes first alternates
                before = tree_cpu(side.pid())
                accepted, delivered, procs = drive(side.port, user, args.messages,
                                                   side.maildir_new(user), side.processes)
                rate = args.messages / delivered
                results[name].append(rate)
                cpu[name].append(1e6 * (tree_cpu(side.pid()) - before) / args.messages)
                load = "/".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"run {run} {name:8s}: accepted in {accepted:6.2f} s, delivered in "
                      f"{delivered:6.2f} s -> {rate:7.0f} msg/s, server CPU "
                      f"{cpu[name][-1]:5.0f} us a message (load {load}, up to {procs} "
                      "processes)", flush=True)
    finally:
        mt.stop()
        pf.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    med_mt = statistics.median(results["mailtool"])
    med_pf = statistics.median(results["postfix"])
    print(f"median mailtool {med_mt:.0f} msg/s, postfix {med_pf:.0f} msg/s, "
          f"ratio mailtool/postfix = {med_mt / med_pf:.2f}x (target >= 1.2x)")
    cpu_mt, cpu_pf = statistics.median(cpu["mailtool"]), statistics.median(cpu["postfix"])
    print(f"server CPU a message (user + system, every process of the side): mailtool "
          f"{cpu_mt:.0f} us, postfix {cpu_pf:.0f} us ({cpu_mt / cpu_pf:.2f}x Postfix's)")
    bench_line(f"SMTP end to end, {args.messages:,} x 2 KB, {SESSIONS} sessions, "
               f"smtp_workers = {args.smtp_workers or 'default'}", med_mt, med_pf, unit="msg/s",
               peer_name="Postfix", higher_is_better=True, target=">= 1.2x")


if __name__ == "__main__":
    main()
