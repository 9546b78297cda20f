"""The terminal client on a 100,000-message folder: mailtool's server against Dovecot.

The real ``mailtool tui`` app (Textual, driven by Pilot as in the tests) opens
a big INBOX on each server; two figures, each a median of at least 3 runs,
every run printed, with the ratio mailtool time / Dovecot time (< 1 means
mailtool is faster):

* ``open``  - start the app with an empty client cache until every UID is
  listed and the first screen of envelopes is drawn (LOGIN, SELECT,
  UID SEARCH, one screenful of UID FETCH ENVELOPE);
* ``sort``  - from the keypress that switches the list to "sort by subject"
  until the re-sorted list's screen is drawn (one ``UID SORT (SUBJECT)``, both
  servers offer SORT, plus a screenful of envelopes).

With ``--part reader`` (or ``all``, the default) a second INBOX holds one 2 MB
plain-text message (40,000 lines, a quoted run every 25 lines, a signature):

* ``read2mb`` - from the Enter that opens it until the reader shows its first
  screen (the first piece of the body mounted, then one paint); target < 0.5 s;
* ``keylat`` - while the rest of that body is still being laid out piece by
  piece (``reader.py`` ``CHUNK_LINES``), ``j`` is pressed 10 times 50 ms apart in
  the focused reader: from posting each key to the reader's scroll action
  running; the median and the worst of the 10 per run (each run line says how
  many of the presses came while pieces were still being added).

Both INBOXes hold the same messages (``tests/tui/test_tui_big_folder.py``'s
corpus), written as plain Maildir files into ``new/``; an untimed warm-up per
server indexes them (first SELECT) and builds the sort caches (first
``UID SORT``, printed: both servers read every header once then).

    sudo .venv/bin/python bench/bench_tui.py                      # 100,000 messages
    sudo .venv/bin/python bench/bench_tui.py --messages 20000     # quicker
    sudo .venv/bin/python bench/bench_tui.py --part reader        # only the 2 MB message

Needs Dovecot (Debian ``dovecot-imapd``); as root Dovecot's mail belongs to the
system user ``vmail``. Everything is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_imap
from bench_imap import PASSWORD, alternate, login, report, start_dovecot, start_mailtool
from bench_pop3 import machine

from tests.tui.pilot import make_app, until
from tests.tui.test_tui_big_folder import big_message

#: generous: a loaded machine must not turn a slow run into a failure
PATIENCE = 900.0


def account(path: Path, user: str, port: int) -> Path:
    path.write_text(
        "[accounts.bench]\n"
        f'email = "{bench_imap.BIG}"\nusername = "{user}"\n'
        f'imap = "127.0.0.1:{port}"\nimap_tls = "none"\n'
        f'smtp = "127.0.0.1:{port}"\nsmtp_tls = "none"\n'
        f'password_command = "echo {PASSWORD}"\n'
    )
    return path


def warm_up(port: int, user: str) -> tuple[float, float]:
    """Untimed for the figures: first SELECT (indexing) and first UID SORT (caches)."""
    c = login(port, user)
    start = time.perf_counter()
    c.cmd(b"SELECT INBOX")
    selected = time.perf_counter()
    c.cmd(b"UID SORT (SUBJECT) UTF-8 ALL")
    done = time.perf_counter()
    c.close()
    return selected - start, done - selected


async def tui_run(config: Path, messages: int) -> tuple[float, float]:
    """(seconds to the first screen, seconds to the first screen sorted by subject)."""
    app = make_app(config)
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        mlist = main.mlist

        def screen_drawn() -> bool:
            height = mlist.scrollable_content_region.height
            rows = mlist.rows[mlist.scroll_offset.y :][:height]
            return bool(rows) and all(u in mlist.envelopes for u, _d in rows)

        await until(pilot, lambda: len(mlist.rows) == messages and screen_drawn(),
                    "first screen", PATIENCE)  # fmt: skip
        opened = time.perf_counter() - start
        main.sort = "from"  # the sort key comes after "from"
        start = time.perf_counter()
        await pilot.press("o")
        await until(pilot, lambda: "sort: subject" in str(mlist.border_title) and screen_drawn(),
                    "sorted by subject", PATIENCE)  # fmt: skip
        sorted_s = time.perf_counter() - start
        if not client_sorted_on_server(main):
            raise RuntimeError("the client did not use the server's SORT")
    return opened, sorted_s


def client_sorted_on_server(main) -> bool:  # type: ignore[no-untyped-def]
    """Fewer envelopes in the client cache than messages: nobody downloaded them all."""
    return len(main.cache.envelopes("INBOX")) < len(main.mlist.rows) // 10


# ---------------------------------------------------------------- the 2 MB message


def two_mb_message() -> bytes:
    """40,000 lines of text (about 2 MB) with quoted runs and a signature."""
    lines = []
    for i in range(40_000):
        prefix = "> " if i % 25 in (20, 21, 22, 23) else ""
        lines.append(f"{prefix}line {i:05d} of the long report, lorem ipsum dolor sit")
    body = "\r\n".join(lines) + "\r\n-- \r\nThe author\r\n"
    return ("From: Reporter <r@bench.test>\r\nTo: big@bench.test\r\nSubject: report\r\n"
            "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <report@bench.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body).encode()


def first_screen_shown(reader) -> bool:  # type: ignore[no-untyped-def]
    """The first piece of the body is in the reader and laid out on screen (it has a
    region: the compositor placed it, the frame that paints it is the next one)."""
    pieces = list(reader.query("#body > Static"))
    return bool(pieces) and pieces[0].region.height > 0 and \
        str(pieces[0].render()).startswith("line 00000")


async def key_latency(pilot, reader, presses: int = 10) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Seconds from posting ``j`` to the reader's scroll action running, per press, and
    how many presses came while body pieces were still being added."""
    from textual import events
    from textual.worker import WorkerState

    def rendering() -> bool:
        return any(w.group == "reader-render" and w.state == WorkerState.RUNNING
                   for w in pilot.app.workers)

    handled: list[float] = []
    scroll_down = reader.action_scroll_down

    def timed_scroll_down() -> None:  # the moment the key reaches the reader's action
        handled.append(time.perf_counter())
        scroll_down()

    reader.action_scroll_down = timed_scroll_down
    during = 0
    latencies = []
    for _ in range(presses):
        if pilot.app.focused is not reader:  # a refresh of the list may take the focus
            reader.focus()
            while pilot.app.focused is not reader:
                await asyncio.sleep(0.001)
        during += rendering()
        count = len(handled)
        start = time.perf_counter()
        pilot.app.post_message(events.Key("j", "j"))
        while len(handled) == count:
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"j never reached the reader (focus: {pilot.app.focused})")
            await asyncio.sleep(0.001)
        latencies.append(handled[-1] - start)
        await asyncio.sleep(0.05)
    return latencies, during


async def reader_run(config: Path) -> tuple[float, float, float, int]:
    """(seconds to the first screen of the 2 MB message, median and worst key latency,
    presses during the rendering)."""
    from textual import events

    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        reader = main.reader
        await until(pilot, lambda: len(main.mlist.rows) == 1 and main.mlist.envelopes,
                    "the message listed", PATIENCE)  # fmt: skip
        await pilot.pause(0.5)  # settled: the push connection is up, nothing else loading
        start = time.perf_counter()
        # posted, not pilot.press(): that one returns only once the app is idle, i.e.
        # after the whole body is laid out, which is what the first figure must not wait for
        app.post_message(events.Key("enter", "\r"))
        while not first_screen_shown(reader):
            if time.perf_counter() - start > PATIENCE:
                raise RuntimeError("the message never showed")
            await asyncio.sleep(0.001)
        first = time.perf_counter() - start
        reader.focus()
        while app.focused is not reader:  # focus moves on the next message-loop turn
            await asyncio.sleep(0.001)
        latencies, during = await key_latency(pilot, reader)
    return first, statistics.median(latencies), max(latencies), during


def reader_part(root: Path, runs: int) -> None:
    raw = two_mb_message()
    print(f"# reader: INBOX of one {len(raw) / 1e6:.1f} MB text/plain message; "
          "Textual app 120x40, empty client cache each run")  # fmt: skip
    bench_imap.SMALL = []
    part = root / "reader"
    with contextlib.ExitStack() as cleanup:
        mailtool = start_mailtool(part, [raw], [])
        cleanup.callback(mailtool.stop)
        dovecot = start_dovecot(part, [raw], [])
        cleanup.callback(dovecot.stop)
        sides = {"mailtool": (mailtool.port("imap"), bench_imap.BIG),
                 "dovecot": (dovecot.imap_port, "big")}
        for port, user in sides.values():
            warm_up(port, user)
        times: dict[str, dict[str, list[float]]] = {"read2mb": {}, "keylat": {}, "keymax": {}}
        for run in range(runs):
            for side, (port, user) in alternate(sides, run):
                os.environ["XDG_CACHE_HOME"] = str(part / f"cache-{side}-{run}")
                os.environ["XDG_DATA_HOME"] = str(part / f"data-{side}-{run}")
                config = account(part / f"{side}.toml", user, port)
                first, median, worst, during = asyncio.run(reader_run(config))
                print(f"run {run} {side:9} first screen {first:.3f} s, key latency median "
                      f"{median * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
                      f"({during}/10 presses while the body was still being laid out)")
                times["read2mb"].setdefault(side, []).append(first)
                times["keylat"].setdefault(side, []).append(median)
                times["keymax"].setdefault(side, []).append(worst)
        for name, figures in times.items():
            report(name, figures)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--part", choices=("all", "folder", "reader"), default="all",
                        help="the big folder, the 2 MB message, or both")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")
    if args.part == "reader":
        root = Path(tempfile.mkdtemp(prefix="bench-tui-", dir="/var/tmp"))
        print(f"# {machine()}")
        try:
            reader_part(root, args.runs)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        return

    messages = [big_message(i) for i in range(args.messages)]
    root = Path(tempfile.mkdtemp(prefix="bench-tui-", dir="/var/tmp"))
    print(f"# {machine()}")
    print(f"# INBOX of {args.messages} messages, {sum(map(len, messages)) / 1e6:.1f} MB; "
          "Textual app 120x40, empty client cache each run")  # fmt: skip
    bench_imap.SMALL = []  # only the big user
    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        mailtool = start_mailtool(root, messages, [])
        cleanup.callback(mailtool.stop)
        dovecot = start_dovecot(root, messages, [])
        cleanup.callback(dovecot.stop)
        sides = {
            "mailtool": (mailtool.port("imap"), bench_imap.BIG),
            "dovecot": (dovecot.imap_port, "big"),
        }
        for side, (port, user) in sides.items():
            first_select, first_sort = warm_up(port, user)
            print(f"warm-up   {side:9} first SELECT {first_select:.3f} s, "
                  f"first UID SORT (SUBJECT) {first_sort:.3f} s")  # fmt: skip
        times: dict[str, dict[str, list[float]]] = {"open": {}, "sort": {}}
        for run in range(args.runs):
            for side, (port, user) in alternate(sides, run):
                os.environ["XDG_CACHE_HOME"] = str(root / f"cache-{side}-{run}")
                os.environ["XDG_DATA_HOME"] = str(root / f"data-{side}-{run}")
                config = account(root / f"{side}.toml", user, port)
                opened, sorted_s = asyncio.run(tui_run(config, args.messages))
                times["open"].setdefault(side, []).append(opened)
                times["sort"].setdefault(side, []).append(sorted_s)
        report("open", times["open"])
        report("sort", times["sort"])
        if args.part == "all":
            reader_part(root, args.runs)

if __name__ == "__main__":
    main()
