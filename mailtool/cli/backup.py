"""``mailtool backup DEST`` and ``mailtool restore SRC``: a consistent copy of the data dir.

The work is :mod:`mailtool.store.backup`'s; here: options, a rich progress bar on
stderr, the summary (``--json``), and, for a restore as root, handing the tree to the
service user (:mod:`mailtool.privsep`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailtool.cli.common import json_option, load_config, print_json

if TYPE_CHECKING:
    from mailtool.config import Config
    from mailtool.store.backup import Summary


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (one task per phase); nothing when not a terminal."""
    if not enabled:
        yield lambda phase, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    tasks: dict[str, int] = {}
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as bar:

        def update(phase: str, done: int, total: int) -> None:
            # total 0: not known yet (files of a live data dir), a pulsing bar until the end
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)

        yield update


def _render(summary: Summary, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    how = f"{summary.linked} linked, {summary.copied} copied" if verb == "backup" else (
        f"{summary.copied} files"
    )
    click.echo(
        f"{verb}: {summary.source} -> {summary.destination}: {summary.databases} databases, "
        f"{summary.users} mailboxes, {summary.queue_entries} queue entries, {how} "
        f"in {summary.seconds:.1f}s"
    )
    if summary.missing_files:
        click.echo(f"  {summary.missing_files} messages expunged during the backup are left out")
    if summary.unindexed_files:
        click.echo(
            f"  {summary.unindexed_files} messages delivered during the backup are in it "
            "without a UID yet: the restored server gives them one"
        )


def _data_dir_config(ctx: click.Context, command: str) -> Config:
    """The config, when its store lives in the data dir; on PostgreSQL these commands
    would copy a node's certificates and miss every message: say what to use instead."""
    cfg = load_config(ctx)
    if cfg.store.backend != "sqlite":
        raise click.ClickException(
            f"mailtool {command} copies a SQLite + Maildir data dir; this config's store is "
            "PostgreSQL ([store] url): on PostgreSQL use pg_dump / pg_restore (or the "
            "database's own backups); see docs/scaling.md"
        )
    return cfg


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")  # fmt: skip
@json_option
@click.pass_context
def backup(ctx: click.Context, dest: Path, progress: bool | None, as_json: bool) -> None:
    """Copy the data dir into DEST (new or empty), consistently, even while serve runs.

    Databases through SQLite's online backup, then the queue, then each mailbox (index
    first, then the files it names), then keys, certificates and sieve scripts. Message
    files are hard-linked when DEST is on the same file system, else copied and fsynced.

    \b
    Examples:
      mailtool backup /srv/backup/mail-$(date +%F)
      mailtool backup /mnt/usb/mail --json --no-progress
    """
    from mailtool.store.backup import backup as run_backup

    cfg = _data_dir_config(ctx, "backup")
    show = click.get_text_stream("stderr").isatty() if progress is None else progress
    with _progress_bar(show) as update:
        summary = run_backup(cfg.data_path, dest, update)
    _render(summary, as_json, "backup")


@click.command()
@click.argument("src", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace the contents of a non-empty data dir (server stopped).")  # fmt: skip
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")  # fmt: skip
@json_option
@click.pass_context
def restore(
    ctx: click.Context, src: Path, force: bool, progress: bool | None, as_json: bool
) -> None:
    """Bring the backup SRC back into the data dir (empty, or --force).

    Files get mode 0600 and directories 0700; run as root, the tree is handed to the
    service user ([server] user). Start serve afterwards: messages the backup holds
    without an index row get their UIDs at the first sync of their folder.

    \b
    Examples:
      mailtool restore /srv/backup/mail-2026-12-07
      mailtool --data-dir /var/lib/mailtool restore /mnt/usb/mail --force
    """
    from mailtool import privsep
    from mailtool.store.backup import restore as run_restore

    cfg = _data_dir_config(ctx, "restore")
    user = None
    if privsep.wants_drop(cfg.server.user):  # before writing anything: a missing user fails
        user = privsep.service_user(cfg.server.user, create=cfg.server.create_user)
    show = click.get_text_stream("stderr").isatty() if progress is None else progress
    with _progress_bar(show) as update:
        summary = run_restore(src, cfg.data_path, force=force, progress=update)
    privsep.hand_over_data_dir(cfg.data_path, user)
    _render(summary, as_json, "restore")
