"""The PostgreSQL backend (issue 17 point 8): SMTP end to end and the IMAP figures on
PostgreSQL next to the SQLite backend and next to Postfix / Dovecot, one node and two
nodes on one database, in one run.

SMTP: Postfix's ``smtp-source -s 20 -l 2048 -m N`` (5,000 by default), end to end (from
the first connection until the N-th message is delivered: a file in Maildir ``new/`` for
Postfix and mailtool on SQLite, a committed row in PostgreSQL for mailtool on
PostgreSQL). Sides, each run in this order rotated by one every run:

* ``postfix``    - a private Postfix (bench_smtp.PrivatePostfix), virtual(8) Maildir;
* ``sqlite``     - one mailtool node on its data dir (bench_smtp.Mailtool);
* ``pg``         - one mailtool node on PostgreSQL;
* ``pg-2nodes``  - two mailtool nodes on the same database, the load split between them
  (two smtp-source processes at once, 10 sessions and N/2 messages each: a balancer's
  round robin without the balancer's own CPU cost on this machine).

Each mailtool node runs ``[limits] smtp_workers`` processes (default nproc + 1, as
bench_smtp.py). For every run the CPU seconds of the mailtool processes and of
PostgreSQL (postmaster, its backends live or reaped) are read from /proc: messages per
CPU-second and PostgreSQL's share of the CPU are the capacity model's inputs
(docs/scaling.md).

IMAP (bench_imap.py's workloads and client): APPEND of 2-8 KB messages (fsync or COMMIT
before OK), SELECT + ``UID FETCH 1:* (FLAGS)`` on a 20,000-message INBOX, ``UID SEARCH
SUBJECT`` on it, a client's first sync (SELECT + ``UID FETCH 1:* (FLAGS INTERNALDATE
RFC822.SIZE ENVELOPE)``, after an untimed one that fills the caches); Dovecot, mailtool
on SQLite, mailtool on PostgreSQL. The PostgreSQL
INBOX is filled by ``mailtool store migrate`` from a data dir filled like the SQLite one
(its duration is printed too).

PostgreSQL: a private cluster (tests/peers/postgres.py) with **fsync on** and
full_page_writes on, the durable settings; shared_buffers 64 MB.

    sudo .venv/bin/python bench/bench_cluster.py                 # 5000 messages, 20k INBOX
    sudo .venv/bin/python bench/bench_cluster.py --only smtp --messages 2000

Needs root (Postfix, Dovecot's vmail user; PostgreSQL then runs as nobody), postfix,
smtp-source, dovecot-imapd and postgresql. Everything lives under /var/tmp/bench-cluster-*
and is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_imap import (
    BIG,
    SYNC_ITEMS,
    append_run,
    search_run,
    select_run,
    start_dovecot,
    start_mailtool,
)
from bench_pop3 import make_messages
from bench_smtp import (
    AS_ME,
    DOMAIN,
    SESSIONS,
    SIZE,
    SMTP_SOURCE,
    Mailtool,
    PrivatePostfix,
    count_new,
    machine,
)

from tests.harness import MailtoolServer
from tests.peers.postgres import PostgresCluster

CLK_TCK = os.sysconf("SC_CLK_TCK")
#: serve runs as whoever runs the bench (as root it would switch to the service user
#: "mailtool", who cannot read a venv under /root), as tests/harness.py does



# --------------------------------------------------------------------------- CPU time


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants: their own time and that of children
    they have reaped (PostgreSQL's postmaster reaps a backend per closed connection).
    One pass over /proc (this runs while the load runs: it must cost little)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = sum(int(x) for x in fields[11:15])
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks.get(current, 0)
        todo.extend(child for child, up in parent.items() if up == current)
    return total / CLK_TCK


def postfix_cpu(pf: PrivatePostfix) -> float:
    """CPU seconds of Postfix's master and its daemons (smtpd, cleanup, virtual...)."""
    try:
        master = int((pf.root / "queue" / "pid" / "master.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return tree_cpu(master)


def pg_counters(url: str) -> tuple[int, int]:
    """(transactions committed in the database, WAL flushes to disk) so far: per message,
    what a delivery costs PostgreSQL. The statistics reach the views up to a second after
    the backends' commits: read them after a pause."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        commits = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        syncs = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
    return int(commits[0]) if commits else 0, int(syncs[0]) if syncs else 0


# --------------------------------------------------------------------------- SMTP sides


class PgNode(Mailtool):
    """A mailtool node on the PostgreSQL database; ``joins``: a later node of the same
    database (the first one made the domain and users, which the database shares)."""

    def __init__(self, root: Path, workers: int, url: str, *, joins: bool = False) -> None:
        super().__init__(root, workers, extra_config=f'{AS_ME}[store]\nurl = "{url}"\n')
        self.joins = joins
        self._stores: Any = None

    def cli(self, *args: str, stdin: str | None = None) -> None:
        if self.joins and args[0] in ("domain", "user"):
            return
        if args[0] == "domain":  # the first command start() runs: the schema first
            super().cli("store", "init")
        super().cli(*args, stdin=stdin)

    def delivered(self, user: str) -> int:
        """Messages committed in ``user``'s INBOX (through the store, as a node sees them)."""
        from mailtool.config import load
        from mailtool.errors import NotFound
        from mailtool.store.backends import Stores

        if self._stores is None:
            self._stores = Stores(load(self.config), application_name="bench")
        try:
            return int(self._stores.mail.user(user).folder("INBOX").status().messages)
        except NotFound:
            return 0

    def stop(self) -> None:
        super().stop()
        if self._stores is not None:
            self._stores.close()


@dataclass
class SmtpSide:
    """What a run drives: the SMTP ports (the load is split among them), how many
    messages a user has, and the CPU seconds of the server side's processes."""

    ports: list[int]
    delivered: Callable[[str], int]
    cpu: Callable[[], float]
    processes: Callable[[], int]


def smtp_run(side: SmtpSide, rcpt: str, messages: int) -> tuple[float, float, int]:
    """smtp-source against every port at once (sessions and messages split evenly);
    returns (seconds until all are delivered, server CPU seconds, most processes seen)."""
    share = len(side.ports)
    cpu0 = side.cpu()
    start = time.perf_counter()
    sources = [
        subprocess.Popen(
            [SMTP_SOURCE, "-s", str(SESSIONS // share), "-l", str(SIZE),
             "-m", str(messages // share), "-f", "load@source.test", "-t", rcpt,
             "-M", "source.test", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
        )
        for port in side.ports
    ]
    most = 0
    while any(s.poll() is None for s in sources):
        most = max(most, side.processes())
        time.sleep(0.2)
    if any(s.returncode for s in sources):
        raise RuntimeError("smtp-source failed")
    deadline = time.monotonic() + 600
    expected = messages // share * share
    while side.delivered(rcpt) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {side.delivered(rcpt)} of {expected} delivered")
        # 0.1 s: the count costs the server side too (a scan of new/, a query whose CPU
        # would be counted as PostgreSQL's); +-0.1 s on runs of 10 s and more
        time.sleep(0.1)
    return time.perf_counter() - start, side.cpu() - cpu0, most


def smtp_figures(args: argparse.Namespace, root: Path, pg: PostgresCluster) -> dict[str, Any]:
    users = [f"rcpt{i}@{DOMAIN}" for i in range(args.runs)]
    warm = f"warmup@{DOMAIN}"
    # the two-node side writes to users of its own (fresh mailboxes for every run)
    everyone = [warm, f"two{warm}", *users, *(u.replace("rcpt", "two") for u in users)]
    pf = PrivatePostfix(root / "postfix")
    sqlite = Mailtool(root / "sqlite", args.smtp_workers, extra_config=AS_ME)
    url = pg.create_database("bench_smtp")
    node_a = PgNode(root / "pg-a", args.smtp_workers, url)
    node_b = PgNode(root / "pg-b", args.smtp_workers, url, joins=True)
    pg_cpu = lambda: tree_cpu(pg.proc.pid) if pg.proc else 0.0  # noqa: E731
    sides: dict[str, SmtpSide] = {}
    started: list[Any] = []
    try:
        for server in (pf, sqlite, node_a, node_b):
            server.start(everyone)
            started.append(server)
        sides["postfix"] = SmtpSide([pf.port], lambda u: count_new(pf.maildir_new(u)),
                                    lambda: postfix_cpu(pf), pf.processes)
        sides["sqlite"] = SmtpSide([sqlite.port], lambda u: count_new(sqlite.maildir_new(u)),
                                   lambda: tree_cpu(sqlite.proc.pid), sqlite.processes)
        sides["pg"] = SmtpSide([node_a.port], node_a.delivered,
                               lambda: tree_cpu(node_a.proc.pid), node_a.processes)
        sides["pg-2nodes"] = SmtpSide(
            [node_a.port, node_b.port], node_a.delivered,
            lambda: tree_cpu(node_a.proc.pid) + tree_cpu(node_b.proc.pid),
            lambda: node_a.processes() + node_b.processes(),
        )
        sides = {name: side for name, side in sides.items() if name in args.sides.split(",")}
        for name, side in sides.items():  # untimed: start-up, lazy imports, caches
            smtp_run(side, warm if name != "pg-2nodes" else f"two{warm}", args.warmup)
        print(f"warm-up: {args.warmup} messages to each side, untimed")
        rates: dict[str, list[float]] = {name: [] for name in sides}
        per_cpu: dict[str, list[float]] = {name: [] for name in sides}
        pg_share: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for run, user in enumerate(users):
            order = names[run % len(names):] + names[: run % len(names)]
            for name in order:
                rcpt = user if name != "pg-2nodes" else user.replace("rcpt", "two")
                db0, counters0 = pg_cpu(), pg_counters(url)
                seconds, cpu, procs = smtp_run(sides[name], rcpt, args.messages)
                db = pg_cpu() - db0 if name.startswith("pg") else 0.0
                time.sleep(1.5)  # the statistics views lag the commits
                counters = pg_counters(url)
                per_message = "" if not name.startswith("pg") else (
                    f"; {(counters[0] - counters0[0]) / args.messages:.1f} commits and "
                    f"{(counters[1] - counters0[1]) / args.messages:.2f} WAL flushes per message")
                rate = args.messages / seconds
                rates[name].append(rate)
                per_cpu[name].append(args.messages / (cpu + db))
                pg_share[name].append(db / (cpu + db))
                load = "/".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"smtp run {run + 1} {name:9}: {seconds:6.2f} s -> {rate:6.0f} msg/s; "
                      f"CPU server {cpu:5.1f} s, PostgreSQL {db:5.1f} s "
                      f"(load {load}, up to {procs} processes){per_message}")
    finally:
        for server in started:
            server.stop()
    med = {name: statistics.median(r) for name, r in rates.items()}
    med = {**dict.fromkeys(["postfix", "sqlite", "pg", "pg-2nodes"], float("nan")), **med}
    for name, r in rates.items():
        print(f"smtp {name:9} runs [{' '.join(f'{x:.0f}' for x in r)}] median {med[name]:.0f} "
              f"msg/s; {statistics.median(per_cpu[name]):.0f} msg per server CPU-second, "
              f"PostgreSQL {100 * statistics.median(pg_share[name]):.0f}% of that CPU")
    ratio = {f"{a}/{b}": med[a] / med[b] for a, b in (
        ("sqlite", "postfix"), ("pg", "postfix"), ("pg", "sqlite"), ("pg-2nodes", "pg"))}
    print("smtp ratios (throughput): " + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))
    return {"rates": rates, "per_cpu": per_cpu, "pg_share": pg_share}


# --------------------------------------------------------------------------- IMAP


def start_pg_imap(root: Path, big: list[bytes], url: str) -> MailtoolServer:
    """A mailtool IMAP node on PostgreSQL whose INBOX is ``big``: a data dir filled as
    bench_imap fills the SQLite one, then ``mailtool store migrate`` into the database."""
    source = start_mailtool(root / "pg-source", big, [])
    source.stop()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mailtool", "--config", str(source.config_path), "store",
         "migrate", "--to", url, "--no-progress", "--json"],
        check=True, capture_output=True,
    )
    seconds = time.perf_counter() - start
    print(f"store migrate: {len(big)} messages into PostgreSQL in {seconds:.1f} s "
          f"({len(big) / seconds:.0f} msg/s)")
    return MailtoolServer(
        root / "pg",
        services=("imap",),
        config={
            "security": {"plaintext_auth_on_loopback": True},
            "limits": {"max_connections_per_ip": 1000, "max_connections": 2000,
                       "max_connections_per_user": 1000},
            "store": {"url": url},
        },
    ).start()


def report_times(name: str, times: dict[str, list[float]]) -> None:
    medians = {side: statistics.median(t) for side, t in times.items()}
    for side, t in times.items():
        print(f"{name:7} {side:9} runs [{' '.join(f'{x:.3f}' for x in t)}] "
              f"median {medians[side]:.3f} s")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{name:7} ratios (time): sqlite/dovecot {medians['sqlite'] / medians['dovecot']:.2f}, "
          f"pg/dovecot {medians['pg'] / medians['dovecot']:.2f}, "
          f"pg/sqlite {medians['pg'] / medians['sqlite']:.2f}   (load average now {load})")


def imap_figures(args: argparse.Namespace, root: Path, pg: PostgresCluster) -> None:
    big = [m.replace(b"Subject: message", b"Subject: msg") for m in make_messages(args.big)]
    appends = make_messages(args.appends, seed=3)
    servers: list[Any] = []
    try:
        sqlite = start_mailtool(root / "imap-sqlite", big, [])
        servers.append(sqlite)
        pgnode = start_pg_imap(root / "imap-pg", big, pg.create_database("bench_imap"))
        servers.append(pgnode)
        dovecot = start_dovecot(root / "imap-dovecot", big, [])
        servers.append(dovecot)
        ports = {"dovecot": dovecot.imap_port, "sqlite": sqlite.port("imap"),
                 "pg": pgnode.port("imap")}
        user = {"dovecot": "big", "sqlite": BIG, "pg": BIG}
        for side, port in ports.items():  # untimed: indexing (Dovecot, SQLite), caches
            first = select_run(port, user[side], args.big)
            print(f"warm-up {side:9} first SELECT + UID FETCH {first:.3f} s")
        figures = set(args.imap_figures.split(","))
        times: dict[str, list[float]] = {s: [] for s in ports}
        for run in range(args.runs if "append" in figures else 0):
            for side, t in append_run(ports, user, f"Run{run}", appends).items():
                times[side].append(t)
        if "append" in figures:
            report_times("append", times)
        for label, work in (
            ("select", lambda port, side: select_run(port, user[side], args.big)),
            ("search", lambda port, side: search_run(port, user[side], f"msg {args.big - 1} ")),
            ("sync", lambda port, side: select_run(port, user[side], args.big, SYNC_ITEMS)),
        ):
            if label not in figures:
                continue
            for side, port in ports.items():  # untimed: Dovecot fills its cache here
                work(port, side)
            times = {s: [] for s in ports}
            names = list(ports)
            for run in range(args.runs):
                for side in names[run % 3:] + names[: run % 3]:
                    times[side].append(work(ports[side], side))
            report_times(label, times)
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--big", type=int, default=20_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="smtp,imap")
    parser.add_argument("--imap-figures", default="append,select,search,sync",
                        help="with --only imap: which IMAP figures")
    parser.add_argument("--sides", default="postfix,sqlite,pg,pg-2nodes",
                        help="SMTP sides to run (a subset for a quick look)")
    parser.add_argument("--smtp-workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")
    root = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir="/var/tmp"))
    root.chmod(0o755)
    pg = PostgresCluster(fsync=True)
    print(f"machine: {machine()}")
    version = subprocess.run([f"{pg.bindir}/postgres", "-V"], capture_output=True, text=True)
    print("PostgreSQL: private cluster, fsync on, full_page_writes on, shared_buffers 64MB; "
          + version.stdout.strip())
    print(f"SMTP: smtp-source -s {SESSIONS} -l {SIZE} -m {args.messages}, end to end; "
          f"mailtool smtp_workers = {args.smtp_workers} per node; no SPF/DKIM/DMARC checks")
    try:
        pg.start()
        if "smtp" in args.only:
            smtp_figures(args, root, pg)
        if "imap" in args.only:
            imap_figures(args, root, pg)
    finally:
        pg.cleanup()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
