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

Both INBOXes hold the same messages (``tests/tui/test_tui_big_folder.py``'s
corpus), written as plain Maildir files into ``new/``; an untimed warm-up per
server indexes them (first SELECT) and builds the sort caches (first
``UID SORT``, printed: both servers read every header once then).

    sudo .venv/bin/python bench/bench_tui.py                      # 100,000 messages
    sudo .venv/bin/python bench/bench_tui.py --messages 20000     # quicker

Needs Dovecot (Debian ``dovecot-imapd``); as root Dovecot's mail belongs to the
system user ``vmail``. Everything is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
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


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("at least 3 runs (BENCHMARKING.md)")

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

if __name__ == "__main__":
    main()
