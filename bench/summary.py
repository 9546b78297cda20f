"""``make bench``: run the side-by-side benchmarks and print issue 22's table in one run.

Every script prints its own runs and medians, and one machine-readable line per figure
(:func:`report`)::

    BENCH {"figure": "POP3 RETR 2,000 msgs", "mailtool": 3012.0, "peer": 3605.0, ...}

This module runs the scripts one after another (their output goes through as it
comes), collects those lines and prints the summary table at the end: each figure as
mailtool / peer, the ratio oriented so that > 1 means mailtool is ahead, the target,
and the load average each figure was measured under.

    sudo .venv/bin/python bench/summary.py            # the figures of issue 22, < 30 min
    sudo .venv/bin/python bench/summary.py --only pop3,smtp
    sudo .venv/bin/python bench/summary.py --full     # the scripts' full sizes (hours)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PREFIX = "BENCH "

#: (name, script, arguments for the issue-22 sizes, arguments added with --quick)
SCRIPTS: list[tuple[str, str, list[str]]] = [
    ("smtp", "bench_smtp.py", ["--messages", "5000"]),
    ("pop3", "bench_pop3.py", ["--messages", "2000"]),
    ("imap", "bench_imap.py", ["--big", "100000", "--appends", "500", "--sessions", "200",
                               "--fetch-sizes", "20000,100000"]),
]


def load() -> str:
    """The 1-minute load average, as the figures' lines print it."""
    return f"{os.getloadavg()[0]:.1f}"


def report(figure: str, mailtool: float, peer: float, *, unit: str, peer_name: str,
           higher_is_better: bool, target: str = "", **extra: Any) -> None:
    """Print one figure's machine-readable line (medians of the same run, both sides)."""
    ratio = (mailtool / peer if higher_is_better else peer / mailtool) if mailtool and peer else 0.0
    line = {
        "figure": figure, "mailtool": mailtool, "peer": peer, "peer_name": peer_name,
        "unit": unit, "ahead": round(ratio, 2), "target": target, "load": load(), **extra,
    }  # fmt: skip
    print(PREFIX + json.dumps(line), flush=True)


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| figure | mailtool | peer | mailtool / peer (> 1: mailtool ahead) | target | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['figure']} | {_fmt(r['mailtool'])} {r['unit']} | {r['peer_name']} "
            f"{_fmt(r['peer'])} {r['unit']} | **{r['ahead']:.2f}x** | {r.get('target', '')} "
            f"| {r['load']} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated: smtp,pop3,imap")
    parser.add_argument("--full", action="store_true", help="each script's own default sizes")
    args = parser.parse_args()
    wanted = {w for w in args.only.split(",") if w}
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    started = time.monotonic()
    for name, script, sized in SCRIPTS:
        if wanted and name not in wanted:
            continue
        cmd = [sys.executable, str(HERE / script), *([] if args.full else sized)]
        print(f"### {' '.join(cmd[1:])}", flush=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            if line.startswith(PREFIX):
                rows.append(json.loads(line[len(PREFIX):]))
        if proc.wait() != 0:
            failed.append(f"{script} exited {proc.returncode}")
    minutes = (time.monotonic() - started) / 60
    print(f"\n## Summary ({time.strftime('%Y-%m-%d %H:%M')}, nproc={os.cpu_count()}, "
          f"{minutes:.0f} min, load now {load()})\n")  # fmt: skip
    print(table(rows))
    for f in failed:
        print(f"FAILED: {f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
