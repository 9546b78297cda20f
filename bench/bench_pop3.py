"""POP3 retrieval: RETR of every message, mailtool against a private Dovecot, same run.

Both servers get the same N messages (2-8 KB, CRLF) as files in the user's
Maildir ``new/``; each indexes them itself at the first login, which happens in
an untimed warm-up session (that session also RETRs everything, so the
``\\Seen`` flag updates both servers make on QUIT are out of the timed runs).
A run is one poplib session, USER/PASS without TLS on loopback (both servers
allow it there), ``RETR 1`` .. ``RETR N``, ``QUIT``; the client checks every
message's length. The login (an argon2id hash on both sides: Dovecot's passwd-file
gets one from ``doveadm pw -s ARGON2ID``) is timed apart from the RETR phase, which
the ratio is about. Medians of the runs (at least 3), every run printed, the ratio
mailtool/Dovecot in messages per second (> 1 means mailtool is faster), and each
server's CPU time per message (its whole process tree, reaped children included) for
the RETR phase alone and with the login.

    sudo .venv/bin/python bench/bench_pop3.py                 # 2000 messages, 3 runs
    sudo .venv/bin/python bench/bench_pop3.py --messages 500 --runs 5

Needs Dovecot (Debian ``dovecot-pop3d``); as root Dovecot's mail belongs to the
system user ``vmail`` (created when missing). Nothing is deleted between runs
(RETR only); everything is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import platform
import poplib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from summary import report

from tests.harness import MailtoolServer
from tests.peers.dovecot import Dovecot, ensure_mail_user

USER = "bench@bench.test"
PASSWORD = "bench-password"
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]


def make_messages(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        lines = [
            f"From: sender{n % 17}@example.test",
            f"To: {USER}",
            f"Subject: message {n} {' '.join(rng.choices(WORDS, k=5))}",
            f"Message-ID: <{n}.bench@example.test>",
            "Date: Fri, 27 Nov 2026 12:00:00 +0000",
            "",
        ]
        target = rng.randint(2048, 8192)
        size = sum(len(x) + 2 for x in lines)
        while size < target:
            line = " ".join(rng.choices(WORDS, k=rng.randint(5, 12)))
            if rng.random() < 0.02:
                line = "." + line  # some lines need byte-stuffing
            lines.append(line)
            size += len(line) + 2
        out.append(("\r\n".join(lines) + "\r\n").encode())
    return out


def fill_maildir(root: Path, messages: list[bytes], owner: tuple[int, int] | None) -> None:
    """Plain Maildir files in new/, as any MDA leaves them; both servers index them."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    host = platform.node() or "bench"
    for n, data in enumerate(messages):
        name = f"{1_700_000_000 + n}.M{n}P{os.getpid()}.{host},S={len(data)}"
        (root / "new" / name).write_bytes(data)
    if owner is not None:
        for path in [root, *root.rglob("*")]:
            os.chown(path, *owner)


def retr_all(
    port: int, user: str, expected: list[int], on_login: Callable[[], None] | None = None
) -> tuple[float, float]:
    """One session: log in, RETR every message, QUIT. Returns (login seconds, seconds from
    the first RETR to QUIT's answer): mailtool checks an argon2id hash at login, the
    Dovecot peer a plaintext passwd-file, so the two phases are reported apart.
    ``on_login`` is called between the two (the server's CPU time is sampled there)."""
    start = time.perf_counter()
    pop = poplib.POP3("127.0.0.1", port, timeout=120)
    pop.user(user)
    pop.pass_(PASSWORD)
    count, _ = pop.stat()
    if count != len(expected):
        raise RuntimeError(f"{count} messages on the server, expected {len(expected)}")
    if on_login is not None:
        on_login()
    logged_in = time.perf_counter()
    for n, size in enumerate(expected, 1):
        _, _, octets = pop.retr(n)
        if octets != size:
            raise RuntimeError(f"message {n}: {octets} octets, expected {size}")
    pop.quit()
    return logged_in - start, time.perf_counter() - logged_in


def start_mailtool(root: Path, messages: list[bytes]) -> MailtoolServer:
    from mailtool.store.accounts import AccountStore

    server = MailtoolServer(
        root / "mailtool",
        services=("pop3",),
        config={
            "security": {"plaintext_auth_on_loopback": True},
            "limits": {"max_line_length": 8192},
        },
    )
    accounts = AccountStore(server.data_dir / "accounts.db")
    accounts.add_domain(USER.split("@")[1])
    accounts.add_user(USER, PASSWORD)
    maildir = accounts.maildir_path(USER)
    accounts.close()
    fill_maildir(maildir, messages, None)
    return server.start()


def start_dovecot(root: Path, messages: list[bytes]) -> Dovecot:
    local = USER.split("@")[0]
    dovecot = Dovecot(root / "dovecot", users={local: PASSWORD}, imap=False, pop3=True).start()
    # the same kind of password check as mailtool's argon2id, as in bench_imap (Dovecot
    # re-reads the file): the "login included" CPU figure then compares like with like
    hashed = subprocess.run(
        ["doveadm", "pw", "-s", "ARGON2ID", "-p", PASSWORD], capture_output=True, text=True
    ).stdout.strip()
    if hashed.startswith("{ARGON2ID}") and dovecot.run_dir is not None:
        (dovecot.run_dir / "users.passwd").write_text(f"{local}:{hashed}::::::\n")
    owner = None
    if os.geteuid() == 0:
        pw = ensure_mail_user()
        owner = (pw.pw_uid, pw.pw_gid)
    fill_maildir(dovecot.maildir(local), messages, owner)
    return dovecot


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its descendants, reaped children
    included: mailtool's serve process, or Dovecot's master with its per-session
    processes (a finished session's time lands in the master's cutime once reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = raw.rsplit(")", 1)[1].split()
            stats[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0))[1]
        todo += [p for p, (ppid, _) in stats.items() if ppid == current]
    return total / tick


def timed_session(
    pid: int, port: int, user: str, sizes: list[int]
) -> tuple[float, float, float, float]:
    """:func:`retr_all` with the server's CPU time sampled before, at the login and after:
    (login s, RETR+QUIT s, CPU s of the whole session, CPU s from the login on)."""
    before = tree_cpu(pid)
    at_login: list[float] = []
    login, seconds = retr_all(port, user, sizes, lambda: at_login.append(tree_cpu(pid)))
    time.sleep(0.2)  # Dovecot's session process exits and is reaped
    after = tree_cpu(pid)
    return login, seconds, after - before, after - at_login[0]


def machine() -> str:
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout
    return (
        f"nproc={os.cpu_count()} python={platform.python_version()} "
        f"dovecot={dovecot.strip()} kernel={platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")

    messages = make_messages(args.messages)
    sizes = [len(m) for m in messages]
    root = Path(tempfile.mkdtemp(prefix="bench-pop3-", dir="/var/tmp"))
    print(f"# {machine()}")
    print(f"# {args.messages} messages, {sum(sizes) / 1e6:.1f} MB, {args.runs} runs each")
    mailtool = start_mailtool(root, messages)
    dovecot = None
    try:
        dovecot = start_dovecot(root, messages)
        sides = {
            "mailtool": (mailtool.port("pop3"), USER),
            "dovecot": (dovecot.pop3_port, USER.split("@")[0]),
        }
        for name, (port, user) in sides.items():  # untimed: indexing, \Seen updates
            login, retr = retr_all(port, user, sizes)
            print(f"{name:9} warm-up login {login:6.3f} s  RETR+QUIT {retr:7.3f} s")
        times: dict[str, list[float]] = {name: [] for name in sides}
        logins: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        retr_cpu: dict[str, list[float]] = {name: [] for name in sides}
        pids = {"mailtool": mailtool.proc.pid, "dovecot": dovecot.proc.pid}  # type: ignore[union-attr]
        for run in range(1, args.runs + 1):
            order = list(sides) if run % 2 else list(sides)[::-1]
            for name in order:  # interleaved, alternating who goes first: same noise
                port, user = sides[name]
                login, seconds, used, retr_used = timed_session(pids[name], port, user, sizes)
                times[name].append(seconds)
                logins[name].append(login)
                cpu[name].append(used)
                retr_cpu[name].append(retr_used)
                rate = args.messages / seconds
                print(
                    f"{name:9} run {run}  login {login:6.3f} s  RETR+QUIT {seconds:7.3f} s"
                    f"  {rate:8.0f} msg/s  server CPU {retr_used * 1e6 / args.messages:5.0f}"
                    f" us/msg RETR+QUIT, {used * 1e6 / args.messages:5.0f} with the login"
                    f"  load {os.getloadavg()[0]:.1f}"
                )
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, median in medians.items():
            print(
                f"{name:9} median login {statistics.median(logins[name]):6.3f} s"
                f"  RETR+QUIT {median:7.3f} s  {args.messages / median:8.0f} msg/s"
            )
        ratio = medians["dovecot"] / medians["mailtool"]
        print(f"ratio mailtool/dovecot, RETR of {args.messages} messages (msg/s): {ratio:.2f}")
        cpu_us = {n: statistics.median(c) * 1e6 / args.messages for n, c in cpu.items()}
        retr_us = {n: statistics.median(c) * 1e6 / args.messages for n, c in retr_cpu.items()}
        print(f"server CPU per message (median), RETR+QUIT: mailtool {retr_us['mailtool']:.0f}"
              f" us, Dovecot {retr_us['dovecot']:.0f} us; login included: mailtool"
              f" {cpu_us['mailtool']:.0f} us, Dovecot {cpu_us['dovecot']:.0f} us")  # fmt: skip
        report(
            f"POP3 RETR {args.messages:,} msgs", args.messages / medians["mailtool"],
            args.messages / medians["dovecot"], unit="msg/s", peer_name="Dovecot",
            higher_is_better=True, target=">= 1.0x",
            cpu_us_per_msg={n: round(v) for n, v in cpu_us.items()},
            retr_cpu_us_per_msg={n: round(v) for n, v in retr_us.items()},
        )
    finally:
        mailtool.stop()
        if dovecot is not None:
            dovecot.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
