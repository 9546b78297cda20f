"""IMAP stress load: mailtool against a private Dovecot, same client, same seed.

The load is tests/stress/imap_stress.py (issue 16 point 18): N raw asyncio clients
share three mailboxes of one account and do random APPEND / STORE / COPY / MOVE /
EXPUNGE / FETCH / SEARCH / IDLE, logging in again every 5-40 operations, and check
every response against their model. Each run gives both servers the same seed (the
same choices per client), in a fresh account (fresh mailboxes: BENCHMARKING.md), the
server that goes first alternating. Printed per run and as medians of >= 3 runs:
logins per second, operations per second, the errors the model found (must be 0),
and the ratios mailtool / Dovecot (> 1: mailtool does more per second).

Both servers verify an argon2id hash at LOGIN (Dovecot's users get ``doveadm pw -s
ARGON2ID`` hashes, as in bench_imap.py); both fsync an APPEND before OK.

    .venv/bin/python bench/bench_imap_stress.py --clients 10 --seconds 60 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pop3 import machine

from tests.harness import MailtoolServer
from tests.peers.dovecot import Dovecot
from tests.stress.imap_stress import StressResult, run_stress

PASSWORD = "bench-password"
#: stock Dovecot allows 10 connections per user and IP
DOVECOT_EXTRA = "mail_max_userip_connections = 1000\n"


def start_mailtool(root: Path, users: list[str]) -> MailtoolServer:
    from mailtool.store.accounts import AccountStore

    server = MailtoolServer(
        root / "mailtool",
        services=("imap",),
        config={
            "security": {"plaintext_auth_on_loopback": True},
            "limits": {"max_connections_per_ip": 1000, "max_connections_per_user": 1000},
        },
    )
    accounts = AccountStore(server.data_dir / "accounts.db")
    accounts.add_domain("bench.test")
    for user in users:
        accounts.add_user(f"{user}@bench.test", PASSWORD)
    accounts.close()
    return server.start()


def start_dovecot(root: Path, users: list[str]) -> Dovecot:
    dc = Dovecot(
        root / "dovecot",
        users=dict.fromkeys(users, PASSWORD),
        pop3=False,
        extra_config=DOVECOT_EXTRA,
    ).start()
    hashed = subprocess.run(
        ["doveadm", "pw", "-s", "ARGON2ID", "-p", PASSWORD], capture_output=True, text=True
    ).stdout.strip()
    if hashed.startswith("{ARGON2ID}"):
        assert dc.run_dir is not None
        (dc.run_dir / "users.passwd").write_text("".join(f"{u}:{hashed}::::::\n" for u in users))
    return dc


def one(port: int, user: str, clients: int, seconds: float, seed: int) -> StressResult:
    return asyncio.run(
        run_stress("127.0.0.1", port, user, PASSWORD, clients=clients, seconds=seconds, seed=seed)
    )


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, help="first run's seed (then +1 per run)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    users = [f"stress{run}" for run in range(args.runs)]
    root = Path(tempfile.mkdtemp(prefix="bench-imap-stress-", dir="/var/tmp"))
    print(f"# {machine()}")
    print(
        f"# {args.clients} clients x {args.seconds:.0f} s per run, {args.runs} runs, seeds {seed}.."
    )
    print(f"# Dovecot: {DOVECOT_EXTRA.strip()}; both verify argon2id at LOGIN")
    mailtool = start_mailtool(root, users)
    dovecot = None
    rates: dict[str, dict[str, list[float]]] = {
        s: {"logins": [], "ops": []} for s in ("mailtool", "dovecot")
    }
    errors = 0
    try:
        dovecot = start_dovecot(root, users)
        sides = [
            ("mailtool", mailtool.port("imap"), "{}@bench.test"),
            ("dovecot", dovecot.imap_port, "{}"),
        ]
        for run in range(args.runs):
            order = sides if run % 2 == 0 else sides[::-1]
            for side, port, user in order:
                r = one(port, user.format(users[run]), args.clients, args.seconds, seed + run)
                errors += r.error_count
                rates[side]["logins"].append(r.logins / r.seconds)
                rates[side]["ops"].append(r.operations / r.seconds)
                print(f"run {run} {side:9} {r.summary()}")
                for err in r.errors[:10]:
                    print(f"    {err}")
        for what, unit in (("logins", "logins/s"), ("ops", "operations/s")):
            medians = {}
            for side, figures in rates.items():
                runs = " ".join(f"{x:.1f}" for x in figures[what])
                medians[side] = statistics.median(figures[what])
                print(f"{what:7} {side:9} runs [{runs}] median {medians[side]:.1f} {unit}")
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            ratio = medians["mailtool"] / medians["dovecot"]
            print(
                f"{what:7} ratio mailtool/dovecot (rate): {ratio:.2f}   (load average now {load})"
            )
        print(f"errors found by the model: {errors}")
    finally:
        if dovecot is not None:
            dovecot.stop()
        mailtool.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    raise SystemExit(1 if errors else 0)


if __name__ == "__main__":
    main()
