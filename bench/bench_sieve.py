"""Sieve at delivery: what a 200-rule user script adds to one delivery (issue 18 point 4).

Target: < 1 ms per delivery for a 200-rule script, in the in-process deliver loop.

Three figures, medians of ``--runs`` runs (every run printed):

1. ``filter``: :func:`mailtool.mda.filtering.filter_for_user` alone (the
   interpreter with the script as the store hands it over: read once, then one
   stat per delivery; parsed once per process by ``filtering._parsed``, an
   LRU cache keyed by the script text), per message, for messages that match
   no rule (every test runs: the worst case) and messages one of the last rules
   files away.
2. ``deliver``: :func:`mailtool.mda.deliver.deliver` into a real MailStore
   (Maildir + index, fsync), with the script and without any script; the
   difference of the user CPU times is what Sieve costs a delivery (the wall
   times, printed too, and the system CPU time are mostly fsync and drift with
   the shared disk).
3. ``compile``: parsing + validating the script once (what the cache saves).

No peer: Pigeonhole has no in-process loop to set beside ours (its
``sieve-test`` is one process per message). The script's rules are the kinds
Roundcube writes (header :contains, address :is, :regex, size, exists,
:count, with fileinto, addflag, redirect :copy, stop).

    .venv/bin/python bench/bench_sieve.py                  # 200 rules, 2000 messages, 3 runs
    .venv/bin/python bench/bench_sieve.py --rules 500 --messages 500
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailtool.mda import filtering
from mailtool.mda.deliver import deliver
from mailtool.mda.sieve import Envelope, parse
from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore
from mailtool.store.sieve_scripts import SieveScripts

USER = "bench@bench.test"


#: the rule kinds of the script, one in five each
KINDS = {
    "header :contains": 'header :contains "subject" "topic-{i} "',
    "address :is": 'address :is "from" "sender-{i}@lists.example.test"',
    "header :regex": 'header :regex "subject" "^\\\\[proj-{i}\\\\]"',
    "exists + size": 'allof (exists "x-topic-{i}", size :over 10M)',
    "header :count": 'header :count "ge" :comparator "i;ascii-numeric" "x-count-{i}" "3"',
}


def make_script(rules: int, kinds: list[str] | None = None) -> str:
    """``rules`` Roundcube-style rules; rule i matches only "Subject: topic-i" and kin."""
    out = ['require ["fileinto","imap4flags","copy","regex","relational",'
           '"comparator-i;ascii-numeric","mailbox"];']  # fmt: skip
    kinds = kinds or list(KINDS.values())
    actions = ['fileinto :create "Topics/{i}";', 'addflag "$topic{i}";\n\tfileinto "T{i}";',
               'redirect :copy "fwd-{i}@example.test";\n\tstop;']  # fmt: skip
    for i in range(rules):
        test = kinds[i % len(kinds)].format(i=i)
        action = actions[i % len(actions)].format(i=i)
        out.append(f"# rule:[rule {i}]\nif allof ({test})\n{{\n\t{action}\n}}")
    return "\n".join(out) + "\n"


def make_message(n: int, subject: str) -> bytes:
    return (f"From: someone-{n}@example.org\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{n}.bench@example.org>\r\nDate: Mon, 07 Dec 2026 12:00:00 +0000\r\n"
            f"\r\n" + "A line of text for the body.\r\n" * 40).encode()  # fmt: skip


def median_line(label: str, runs: list[float]) -> float:
    med = statistics.median(runs)
    shown = " ".join(f"{r * 1e6:8.1f}" for r in runs)
    print(f"  {label:<38} runs (µs/message): {shown}   median {med * 1e6:8.1f} µs")
    return med


def time_filter(scripts: SieveScripts, messages: list[bytes], clock=time.perf_counter) -> float:
    env = Envelope("someone@example.org", USER)
    start = clock()
    for message in messages:
        filtering.filter_for_user(scripts, USER, env, message)
    return (clock() - start) / len(messages)


def time_deliver(
    mail: MailStore, scripts: SieveScripts | None, messages: list[bytes]
) -> tuple[float, float]:
    """(wall, user CPU) seconds per message. The wall clock is mostly fsync; so is the
    system CPU time (journal work, ±0.5 ms a message from run to run here), while Sieve is
    user-space work: the user CPU time is what it adds."""
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    for message in messages:
        deliver(mail, message, sender="someone@example.org", recipient=USER, scripts=scripts)
    count = len(messages)
    user = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu
    return (time.perf_counter() - start) / count, user / count


def call_ns() -> float:
    """CPU time of one trivial Python call here (~35 ns on an idle 3 GHz core, py3.11):
    on a shared VM it says how much slower than idle this run's CPU is."""

    def f(x: int) -> int:
        return x

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for i in range(500_000):
            f(i)
        best = min(best, (time.process_time() - start) / 500_000)
    return best * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    script = make_script(args.rules)
    nomatch = [make_message(n, f"nothing to see {n}") for n in range(args.messages)]
    late = [make_message(n, f"topic-{args.rules - 1 - n % 5} update")
            for n in range(args.messages)]  # fmt: skip
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
          f"python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    calibration = call_ns()
    print(f"a trivial Python call: {calibration:.0f} ns here (~35 ns on an idle core)")
    print(f"script: {args.rules} rules, {len(script)} bytes; {args.messages} messages per run")

    with tempfile.TemporaryDirectory(prefix="bench-sieve-") as tmp:
        root = Path(tmp)
        scripts = SieveScripts(root)
        scripts.put(USER, "rules", script)
        scripts.activate(USER, "rules")
        compile_runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            parse(script)
            compile_runs.append(time.perf_counter() - start)
        print("compile (parse + validate, once per script text):")
        median_line("compile", compile_runs)

        print("filter_for_user (cached script, store stat per delivery):")
        time_filter(scripts, nomatch[:50])  # warm: the cache holds the parsed script
        f_none = median_line("no rule matches (all 200 tests run)",
                             [time_filter(scripts, nomatch) for _ in range(args.runs)])  # fmt: skip
        median_line("one of the last rules matches",
                    [time_filter(scripts, late) for _ in range(args.runs)])  # fmt: skip
        # the wall clock of a loaded VM is mostly waiting for a core: the CPU time is the cost
        cpu_runs = [time_filter(scripts, nomatch, time.process_time) for _ in range(args.runs)]
        cpu = median_line("CPU time, no rule matches", cpu_runs)
        info = filtering._parsed.cache_info()
        print(f"  parse cache: {info.hits} hits, {info.misses} misses (one per script text)")

        print("CPU time per delivery by rule kind (the script made of one kind only; best run):")
        for label, kind in KINDS.items():
            one_kind = SieveScripts(root / label.replace(" ", "_").replace(":", ""))
            one_kind.put(USER, "rules", make_script(args.rules, [kind]))
            one_kind.activate(USER, "rules")
            best = min(time_filter(one_kind, nomatch[:200], time.process_time)
                       for _ in range(args.runs))  # fmt: skip
            print(f"  {args.rules} x {label:<18} {best * 1e6:8.1f} µs")

        accounts = AccountStore(root / "accounts.db")
        accounts.add_domain("bench.test")
        accounts.add_user(USER, "pw")
        mail = MailStore(root, accounts=accounts)
        empty = SieveScripts(root / "empty")
        print("deliver() into Maildir + index (fsync):")
        with_script: list[tuple[float, float]] = []
        without: list[tuple[float, float]] = []
        for run in range(args.runs):
            batch = nomatch[run :: args.runs][:500]
            # alternate which goes first: the disk's speed drifts
            pair = [(with_script, scripts), (without, empty)]
            for runs, which in pair if run % 2 == 0 else pair[::-1]:
                runs.append(time_deliver(mail, which, batch))
        median_line("with the 200-rule script (wall)", [w for w, _c in with_script])
        median_line("without a script (wall)", [w for w, _c in without])
        d_with = median_line("with the 200-rule script (user CPU)", [c for _w, c in with_script])
        d_without = median_line("without a script (user CPU)", [c for _w, c in without])
        mail.close()
        accounts.close()
    idle = cpu * 35 / calibration
    print(
        f"Sieve's share of a delivery: {(d_with - d_without) * 1e6:.1f} µs user CPU in deliver() "
        f"(filter alone {f_none * 1e6:.1f} µs wall, {cpu * 1e6:.1f} µs CPU, "
        f"~{idle * 1e6:.0f} µs CPU scaled to an idle core; load {os.getloadavg()[0]:.2f}); "
        f"target < 1000 µs: "
        f"{'met' if cpu < 1e-3 else 'met only when scaled' if idle < 1e-3 else 'not met'}"
    )


if __name__ == "__main__":
    main()
