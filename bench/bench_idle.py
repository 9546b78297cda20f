"""Idle IMAP IDLE sessions: what they cost the server, mailtool against a private Dovecot.

For each session count (1,000 and 10,000 by default) and each server, in the same run:

* ``cpu``     - CPU of the whole server process tree (utime + stime of every process,
  /proc/PID/stat) over ``--seconds`` (60) of idling, ``--runs`` (3) windows, as % of
  one core, and that per 1,000 sessions (target, issue 15: < 1 %);
* ``pss``     - memory per session: PSS of the whole tree (/proc/PID/smaps_rollup)
  with the sessions idling minus before they connected, divided by their number
  (target <= 0.1 MB);
* ``latency`` - a message delivered through the server's own delivery path (mailtool:
  SMTP; Dovecot: LMTP) until the ``* n EXISTS`` reaches an IDLE client of that user,
  ``--deliveries`` (10) times, while all the other sessions idle (target < 1 s).

The sessions are spread over 100 users; each is LOGIN, SELECT INBOX, IDLE over a
raw socket, held by a few client processes (asyncio, ``--clients``), from several
127.0.0.x source addresses. Logins are not what is measured: both sides get cheap
password hashes (Dovecot PLAIN, mailtool argon2id with 1 pass over 1 MiB).

Limits raised for this (said again in the output): RLIMIT_NOFILE of this process
and the servers it starts; mailtool ``[limits] max_connections``,
``max_connections_per_ip`` and ``max_connections_per_user``; Dovecot
``default_process_limit``, ``default_client_limit``, the ``imap`` service's own
``process_limit`` (1024 as shipped) and its login processes in
high-performance mode (``service_count = 0``), one ``imap`` process per session as
it ships (no ``imap-hibernate``); ``fs.inotify.max_user_instances`` while Dovecot
runs (each of its ``imap`` processes takes one inotify instance; past the stock 128
per user it falls back to looking every 30 s), restored after.

    sudo .venv/bin/python bench/bench_idle.py                      # 1000 and 10000, 60 s x 3
    sudo .venv/bin/python bench/bench_idle.py --sessions 1000 --seconds 20

Needs Dovecot (Debian ``dovecot-imapd dovecot-lmtpd``), as root (its mail user).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pop3 import machine

from tests.harness import MailtoolServer
from tests.peers import dovecot as dovecot_peer
from tests.peers.dovecot import Dovecot

PASSWORD = "bench-password"
USERS = 100
DOMAIN = "bench.test"
#: source addresses the clients spread their connections over
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]
#: logins in flight per client process
LOGINS_IN_FLIGHT = 32
NOFILE = 200_000
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")


def raise_nofile(n: int = NOFILE) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    except (ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ------------------------------------------------------------------ measuring


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (utime + stime) used so far by each of ``pids`` still alive."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return out


def cpu_used(before: dict[int, float], root: int) -> float:
    """CPU the tree of ``root`` used since ``before``: processes started meanwhile count
    whole; one that ended meanwhile is left out (its share of the window is lost)."""
    after = cpu_seconds(tree(root))
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def pss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


# ------------------------------------------------------------------ clients


async def _idle_session(port: int, user: str, source: str, gate: asyncio.Semaphore) -> object:
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        await reader.readline()
        for tag, command in ((b"a", b"LOGIN %s %s" % (user.encode(), PASSWORD.encode())),
                             (b"b", b"SELECT INBOX")):  # fmt: skip
            writer.write(tag + b" " + command + b"\r\n")
            while True:
                line = await reader.readline()
                if not line:
                    raise ConnectionError(f"closed during {command!r}")
                if line.startswith(tag + b" "):
                    if not line.startswith(tag + b" OK"):
                        raise ConnectionError(line.decode(errors="replace"))
                    break
        writer.write(b"c IDLE\r\n")
        while not (line := await reader.readline()).startswith(b"+"):
            if not line:
                raise ConnectionError("closed before IDLE")
        return writer  # held open; what the server pushes stays in the kernel buffer


def client_main(port: int, users: list[str], count: int, offset: int, pipe: Connection) -> None:
    """One client process: ``count`` IDLE sessions, held until the pipe says stop."""
    raise_nofile()

    async def run() -> None:
        gate = asyncio.Semaphore(LOGINS_IN_FLIGHT)
        results = await asyncio.gather(
            *(
                _idle_session(
                    port, users[(offset + i) % len(users)], SOURCES[(offset + i) % len(SOURCES)],
                    gate,
                )
                for i in range(count)
            ),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        pipe.send((count - len(failed), repr(failed[0]) if failed else ""))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        for r in results:
            if not isinstance(r, BaseException):
                r.close()  # type: ignore[attr-defined]

    asyncio.run(run())


class Clients:
    """``n`` idling sessions over ``processes`` client processes."""

    def __init__(self, port: int, users: list[str], n: int, processes: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.procs = []
        per = -(-n // processes)
        for k in range(processes):
            count = min(per, n - k * per)
            if count <= 0:
                break
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=client_main, args=(port, users, count, k * per, theirs))
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def wait_ready(self) -> tuple[int, str]:
        ok, errors = 0, []
        for pipe in self.pipes:
            n, err = pipe.recv()
            ok += n
            if err:
                errors.append(err)
        return ok, errors[0] if errors else ""

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send("stop")
        for proc in self.procs:
            proc.join(60)
            if proc.is_alive():
                proc.terminate()  # our own child


# ------------------------------------------------------------------ servers


class Side:
    name: str
    imap_port: int
    pid: int
    users: list[str]

    def deliver(self, user_index: int, data: bytes) -> None: ...
    def stop(self) -> None: ...


class MailtoolSide(Side):
    def __init__(self, root: Path, sessions: int) -> None:
        from argon2 import PasswordHasher

        from mailtool.store.accounts import AccountStore

        self.name = "mailtool"
        self.users = [f"u{i}@{DOMAIN}" for i in range(USERS)]
        limit = sessions + 1000
        self.server = MailtoolServer(
            root / "mailtool",
            services=("imap", "smtp"),
            config={
                "security": {
                    "plaintext_auth_on_loopback": True,
                    "max_auth_in_progress_per_ip": 64,
                    "max_auth_queue": limit,
                },
                "limits": {
                    "max_connections": limit,
                    "max_connections_per_ip": limit,
                    "max_connections_per_user": limit,
                },
            },
        )
        accounts = AccountStore(self.server.data_dir / "accounts.db")
        # cheap hashes: logins are not what is measured (Dovecot gets PLAIN)
        accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        accounts.add_domain(DOMAIN)
        for user in self.users:
            accounts.add_user(user, PASSWORD)
        accounts.close()
        self.server.start()
        self.imap_port = self.server.port("imap")
        self.smtp_port = self.server.port("smtp")
        assert self.server.proc is not None
        self.pid = self.server.proc.pid

    def deliver(self, user_index: int, data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.sendmail("sender@elsewhere.test", [self.users[user_index]], data)

    def stop(self) -> None:
        self.server.stop()


class DovecotSide(Side):
    def __init__(self, root: Path, sessions: int) -> None:
        self.name = "dovecot"
        self.users = [f"u{i}" for i in range(USERS)]
        extra = (
            f"default_process_limit = {sessions + 1000}\n"
            f"default_client_limit = {4 * sessions + 4000}\n"
            # doubled braces: the peer's template goes through str.format
            "service imap-login {{\n  service_count = 0\n  process_min_avail = 2\n}}\n"
            # its imap service ships with process_limit = 1024 of its own
            f"service imap {{{{\n  process_limit = {sessions + 1000}\n}}}}\n"
        )
        if extra not in dovecot_peer._CONFIG:
            dovecot_peer._CONFIG = dovecot_peer._CONFIG.split("# bench_idle")[0]
            dovecot_peer._CONFIG += "# bench_idle\n" + extra
        # one inotify instance per imap process (all of them the mail user's): past the
        # stock 128 per user Dovecot falls back to looking every 30 s
        self.instances = INOTIFY_INSTANCES.read_text().strip()
        if int(self.instances) < sessions + 1000:
            INOTIFY_INSTANCES.write_text(str(sessions + 1000))
        self.dovecot = Dovecot(
            root / "dovecot", users={u: PASSWORD for u in self.users}, pop3=False, lmtp=True
        ).start()
        self.imap_port = self.dovecot.imap_port
        assert self.dovecot.proc is not None
        self.pid = self.dovecot.proc.pid

    def deliver(self, user_index: int, data: bytes) -> None:
        with smtplib.LMTP("127.0.0.1", self.dovecot.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail("sender@elsewhere.test", [self.users[user_index]], data)

    def stop(self) -> None:
        self.dovecot.stop()
        INOTIFY_INSTANCES.write_text(self.instances)


# ------------------------------------------------------------------ one measurement


def latency_runs(side: Side, deliveries: int) -> list[float]:
    """Deliver to user 0 while one more of its sessions idles here: seconds until EXISTS."""
    sock = socket.create_connection(("127.0.0.1", side.imap_port), timeout=30)
    f = sock.makefile("rb")

    def until(marker: bytes) -> None:
        while True:
            line = f.readline()
            if not line:
                raise ConnectionError(f"closed while waiting for {marker!r}")
            if marker in line:
                return

    until(b"OK")
    sock.sendall(b"a LOGIN %s %s\r\n" % (side.users[0].encode(), PASSWORD.encode()))
    until(b"a OK")
    sock.sendall(b"b SELECT INBOX\r\nc IDLE\r\n")
    until(b"+ ")
    out = []
    for n in range(deliveries):
        data = (
            f"From: s@elsewhere.test\r\nTo: {side.users[0]}\r\nSubject: idle {n}\r\n"
            f"Message-ID: <idle{n}.{time.time()}@bench.test>\r\n\r\nbody {n}\r\n"
        ).encode()
        start = time.perf_counter()
        side.deliver(0, data)
        until(b"EXISTS")
        out.append(time.perf_counter() - start)
        time.sleep(0.2)
    sock.sendall(b"DONE\r\nd LOGOUT\r\n")
    sock.close()
    return out


def measure(make: Callable[[Path, int], Side], root: Path, sessions: int, args) -> dict:
    side = make(root, sessions)
    try:
        time.sleep(2)
        pss_before = pss_bytes(tree(side.pid))
        started = time.perf_counter()
        clients = Clients(side.imap_port, side.users, sessions, args.clients)
        ok, error = clients.wait_ready()
        setup = time.perf_counter() - started
        print(f"  {side.name:8} {ok} of {sessions} sessions idling after {setup:.1f} s"
              + (f" (first error: {error})" if error else ""), flush=True)  # fmt: skip
        time.sleep(args.settle)
        pids = tree(side.pid)
        pss_after = pss_bytes(pids)
        print(f"  {side.name:8} PSS {pss_before / 1e6:.1f} MB before, {pss_after / 1e6:.1f} MB"
              f" idling: {(pss_after - pss_before) / max(ok, 1) / 1e6:.3f} MB per session",
              flush=True)  # fmt: skip
        cpu = []
        for run in range(args.runs):
            pids = tree(side.pid)
            before = cpu_seconds(pids)
            time.sleep(args.seconds)
            used = cpu_used(before, side.pid)
            cpu.append(100 * used / args.seconds)
            print(f"  {side.name:8} run {run + 1}: {cpu[-1]:.3f} % of a core over {args.seconds} s"
                  f" ({len(pids)} processes)", flush=True)  # fmt: skip
        latency = latency_runs(side, args.deliveries)
        print(f"  {side.name:8} delivery -> EXISTS: "
              + " ".join(f"{1000 * s:.0f}" for s in latency) + " ms", flush=True)  # fmt: skip
        clients.stop()
        return {
            "ok": ok,
            "cpu": statistics.median(cpu),
            "cpu_per_1000": statistics.median(cpu) * 1000 / max(ok, 1),
            "pss": (pss_after - pss_before) / max(ok, 1) / 1e6,
            "latency": statistics.median(latency),
            "latency_max": max(latency),
            "processes": len(pids),
        }
    finally:
        side.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deliveries", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--only", choices=["mailtool", "dovecot"])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    raise_nofile()
    print(f"machine: {machine()} RLIMIT_NOFILE={resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    print(f"{USERS} users; {args.clients} client processes from {len(SOURCES)} source"
          f" addresses; CPU over {args.runs} x {args.seconds:.0f} s;"
          f" {args.deliveries} deliveries")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="bench-idle-", dir="/var/tmp"))
    sides = [("mailtool", MailtoolSide), ("dovecot", DovecotSide)]
    if args.only:
        sides = [s for s in sides if s[0] == args.only]
    results: dict[tuple[str, int], dict] = {}
    try:
        for n in args.sessions:
            print(f"\n{n} IDLE sessions", flush=True)
            for name, make in sides:
                try:
                    results[(name, n)] = measure(make, root / f"{name}-{n}", n, args)
                except Exception as exc:  # reported; the other side still runs
                    print(f"  {name:8} failed: {exc!r}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("\nsessions  server    idling  CPU %core  per 1000  PSS MB/session  latency ms (max)")
    for (name, n), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "mailtool")):
        print(f"{n:8}  {name:8} {r['ok']:7}  {r['cpu']:9.3f}  {r['cpu_per_1000']:8.3f}"
              f"  {r['pss']:14.3f}  {1000 * r['latency']:6.0f} ({1000 * r['latency_max']:.0f})")
    for n in args.sessions:
        m, d = results.get(("mailtool", n)), results.get(("dovecot", n))
        if m and d:
            def ratio(a: float, b: float) -> str:
                return f"{a / b:.2f}x" if b else "n/a (dovecot 0)"

            print(f"{n:8}  mailtool/dovecot: CPU {ratio(m['cpu'], d['cpu'])}"
                  f"  PSS/session {ratio(m['pss'], d['pss'])}"
                  f"  latency {ratio(m['latency'], d['latency'])}")  # fmt: skip


if __name__ == "__main__":
    main()
