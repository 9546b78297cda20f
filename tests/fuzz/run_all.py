"""Run atheris targets (all by default), several at once, and print one line per target.

    .venv/bin/python -m tests.fuzz.run_all --seconds 60            # make fuzz
    .venv/bin/python -m tests.fuzz.run_all --runs 1000000 -j 2 fuzz_sieve fuzz_spf

Each target's libFuzzer output goes to ``.fuzz/logs/<name>.log``; its ``cov:``
lines are libFuzzer's coverage growth. The summary line gives executions,
executions per second, coverage (edges) and features at the first and last
status line, the corpus size, the time and the crash count (libFuzzer stops at
the first crash and saves it under ``.fuzz/crashes/``). ``--markdown`` prints
the same as a table row per target, for docs/dev/fuzzing.md. Exits 1 if any
target crashed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz.harness import ROOT, WORK

FUZZ = Path(__file__).resolve().parent
STATUS = re.compile(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+)(?: corp: (\d+)/)?.*?(?:exec/s: (\d+))?")
STAT = re.compile(r"^stat::(\w+):\s+(\d+)")
DONE = re.compile(r"^Done (\d+) runs in (\d+) second")


@dataclass
class Summary:
    name: str
    execs: int = 0
    exec_per_s: int = 0
    cov: tuple[int, int] = (0, 0)
    ft: tuple[int, int] = (0, 0)
    corpus: int = 0
    seconds: float = 0.0
    crashes: int = 0
    returncode: int = 0

    def line(self) -> str:
        return (
            f"{self.name}: {self.execs} execs ({self.exec_per_s}/s) in {self.seconds:.0f} s, "
            f"cov {self.cov[0]} -> {self.cov[1]}, ft {self.ft[0]} -> {self.ft[1]}, "
            f"corpus {self.corpus}, crashes {self.crashes}"
        )

    def markdown(self) -> str:
        return (
            f"| {self.name} | {self.execs:,} | {self.exec_per_s:,} | {self.cov[0]} → {self.cov[1]} "
            f"| {self.ft[0]} → {self.ft[1]} | {self.seconds:.0f} s | {self.crashes} |"
        )


def summarize(name: str, log: str, seconds: float, returncode: int) -> Summary:
    """Read a libFuzzer log (with -print_final_stats=1) into a :class:`Summary`."""
    out = Summary(name, seconds=seconds, returncode=returncode)
    first: tuple[int, int] | None = None
    for line in log.splitlines():
        if m := STATUS.match(line):
            cov, ft = int(m.group(2)), int(m.group(3))
            first = first or (cov, ft)
            out.execs = int(m.group(1))
            out.cov, out.ft = (first[0], cov), (first[1], ft)
            out.corpus = int(m.group(4) or out.corpus)
        elif m := DONE.match(line):
            out.execs, out.seconds = int(m.group(1)), float(m.group(2)) or seconds
        elif m := STAT.match(line):
            key, value = m.group(1), int(m.group(2))
            if key == "number_of_executed_units":
                out.execs = value
            elif key == "average_exec_per_sec":
                out.exec_per_s = value
    if "== ERROR: libFuzzer" in log or "Uncaught Python exception" in log or returncode not in (0,):
        out.crashes = 1
    if not out.exec_per_s and out.seconds:
        out.exec_per_s = int(out.execs / out.seconds)
    return out


def run_one(name: str, options: list[str]) -> Summary:
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(logs / f"{name}.log", "w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", f"tests.fuzz.{name}", "-print_final_stats=1", *options],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    return summarize(name, (logs / f"{name}.log").read_text(errors="replace"), seconds,
                     proc.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("targets", nargs="*", help="fuzz_<name> (default: every target)")
    parser.add_argument("--seconds", type=int, help="libFuzzer -max_total_time per target")
    parser.add_argument("--runs", type=int, help="libFuzzer -runs per target")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--markdown", action="store_true", help="a table row per target")
    parser.add_argument("--logs", action="store_true", help="only summarize .fuzz/logs/")
    args = parser.parse_args()
    if args.logs:
        for log in sorted((WORK / "logs").glob("fuzz_*.log")):
            text = log.read_text(errors="replace")
            rc = 0 if "Done " in text and "Uncaught" not in text else 1
            summary = summarize(log.stem, text, 0.0, rc)
            print(summary.markdown() if args.markdown else summary.line())
        return
    names = args.targets or sorted(p.stem for p in FUZZ.glob("fuzz_*.py"))
    options = [f"-rss_limit_mb={args.rss_limit_mb}"]
    if args.seconds:
        options.append(f"-max_total_time={args.seconds}")
    if args.runs:
        options.append(f"-runs={args.runs}")
    failed = False
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for summary in pool.map(lambda n: run_one(n, options), names):
            print(summary.markdown() if args.markdown else summary.line(), flush=True)
            failed = failed or bool(summary.crashes)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
