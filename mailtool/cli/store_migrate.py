"""``mailtool store migrate --to postgresql://...``: the data dir into PostgreSQL.

The work is :mod:`mailtool.store.pg.migrate`'s; here: options, a rich progress bar on
stderr (messages and bytes), the check table or ``--json``, exit 1 when a count differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from mailtool.cli.common import json_option, load_config, print_json

if TYPE_CHECKING:
    from mailtool.store.pg.migrate import MigrationReport, Progress


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    """Two bars on stderr, messages and bytes (a phase line above them); nothing when off."""
    from mailtool.store.pg.migrate import Progress

    if not enabled:
        yield Progress()
        return
    from rich import progress as rp
    from rich.console import Console

    console = Console(stderr=True)
    bar = rp.Progress(
        rp.TextColumn("{task.description:>9}"), rp.BarColumn(), rp.TaskProgressColumn(),
        rp.TextColumn("{task.fields[what]}"), rp.TimeRemainingColumn(),
        console=console, transient=False,
    )

    class Bars(Progress):
        tasks: tuple[Any, Any] | None = None

        def phase(self, name: str) -> None:
            console.log(f"migrate: {name}")

        def start(self, messages: int, nbytes: int) -> None:
            self.tasks = (
                bar.add_task("messages", total=messages, what=f"of {messages}"),
                bar.add_task("bytes", total=nbytes, what=f"of {nbytes / 1e6:.1f} MB"),
            )

        def advance(self, messages: int, nbytes: int) -> None:
            if self.tasks:
                bar.advance(self.tasks[0], messages)
                bar.advance(self.tasks[1], nbytes)

    with bar:
        yield Bars()


def render(report: MigrationReport) -> None:
    """The check table: totals, then every folder (mismatches marked), then what was done."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    totals = Table(title=f"migrated into {report.target}")
    for column in ("what", "data dir", "PostgreSQL", ""):
        totals.add_column(column, justify="right" if column else "left")
    for t in report.totals:
        totals.add_row(t.what, str(t.source), str(t.target), "ok" if t.ok else "MISMATCH")
    console.print(totals)
    folders = Table(title="folders (messages / bytes / UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
    for column in ("user", "folder", "messages", "bytes", "state", ""):
        folders.add_column(column)
    for f in report.folders:
        same = "ok" if f.ok else "MISMATCH"
        folders.add_row(
            f.user, f.folder,
            f"{f.source_messages} / {f.target_messages}",
            f"{f.source_bytes} / {f.target_bytes}",
            " ".join(map(str, f.source_state))
            + ("" if f.source_state == f.target_state
               else " / " + " ".join(map(str, f.target_state))),
            same,
        )
    console.print(folders)
    m = report.mail
    done = ", ".join(f"{kind} {c.copied} (+{c.skipped} there)" for kind, c in report.copied.items())
    click.echo(f"copied: {done}; {m.messages_copied} messages ({m.bytes_copied} bytes), "
               f"{m.messages_skipped} there already, {m.folders} folders")
    if m.subscriptions_dropped:
        click.echo(f"{m.subscriptions_dropped} subscriptions of folders that do not exist "
                   "were left out")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("all counts match" if report.ok else "COUNTS DIFFER: see MISMATCH above")


@click.command()
@click.option("--to", "url", required=True, metavar="postgresql://USER@HOST:PORT/DB",
              help="The target database (created schema or empty).")
@click.option("--password-file", default="", metavar="FILE",
              help="The database password's file (else the URL's, $PGPASSWORD, ~/.pgpass).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on stderr (default: when stderr is a terminal).")  # fmt: skip
@json_option
@click.pass_context
def migrate(
    ctx: click.Context, url: str, password_file: str, progress: bool | None, as_json: bool
) -> None:
    """Copy this data dir (SQLite + Maildir) into PostgreSQL, numbers kept.

    Accounts (password hashes as they are), aliases, quotas, every folder and message with
    its UID, UIDVALIDITY, flags, internal date and MODSEQ (a client in sync stays in sync),
    subscriptions, METADATA, Sieve scripts, DKIM keys and the queue. Runs `store init` on
    the target first. Stop `serve` first. Run it again after an interruption: what is
    there already is skipped. Ends with a check of every count; exit 1 if one differs.

    \b
    Examples:
      mailtool store migrate --to postgresql://mailtool@db1:5432/mail
      mailtool store migrate --to postgresql://mailtool@db1/mail --json --no-progress
    """
    from mailtool.errors import StoreError
    from mailtool.store.pg.migrate import migrate as run

    cfg = load_config(ctx)
    show = click.get_text_stream("stderr").isatty() if progress is None else progress
    try:
        with _progress(show and not as_json) as bars:
            report = run(cfg, url, password_file=password_file, progress=bars)
    except StoreError as exc:
        raise click.ClickException(f"{exc} (run the command again to resume)") from None
    if as_json:
        print_json(report.to_json())
    else:
        render(report)
    if not report.ok:
        ctx.exit(1)
