"""``mailtool import USER mbox|maildir|imap ...`` and ``mailtool export USER``.

Thin: open the store, hand the source to :mod:`mailtool.transfer`, print the
summary. Progress bars go to stderr, only on a terminal and never with
``--json``. Exit status 1 when any message failed (too big, unreadable, over
quota), 0 otherwise; duplicates are not failures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mailtool.cli.common import json_option, load_config, open_stores, print_json

if TYPE_CHECKING:
    from mailtool.transfer.core import Importer, Summary
    from mailtool.transfer.progress import Progress


@contextmanager
def _importer(ctx: click.Context, user: str, as_json: bool) -> Iterator[tuple[Importer, Progress]]:
    from mailtool.errors import NotFound, QuotaExceeded
    from mailtool.transfer.core import Importer
    from mailtool.transfer.progress import Progress

    cfg = load_config(ctx)
    stores = open_stores(ctx, cfg)
    try:
        stores.accounts.get_user(user)
    except NotFound:
        raise click.UsageError(f"no user {user} (mailtool user add {user})") from None
    importer = Importer(stores.mail, user, max_size=cfg.limits.max_message_size)
    try:
        with Progress(False if as_json else None) as progress:
            try:
                yield importer, progress
                importer.finish()
            except QuotaExceeded:
                pass  # in the summary's errors: the rest would not fit either
    finally:
        importer.close()
    _report(importer.summary, as_json)
    if importer.summary.totals.failed:
        sys.exit(1)


def _report(summary: Summary, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    for name, c in sorted(summary.folders.items()):
        click.echo(f"{name}: {c.imported} imported, {c.duplicates} already here, {c.failed} failed")
    for line in summary.errors:
        click.echo(f"failed: {line}", err=True)


@click.group("import")
@click.argument("user")
@click.pass_context
def import_(ctx: click.Context, user: str) -> None:
    """Bring USER's old mail in: from mbox files, a Maildir or another IMAP server.

    \b
    Flags, dates and folder names are kept; a message already in the folder
    (same Message-ID, size and date) is skipped, so a re-run, or a run after an
    interrupted one, imports nothing twice. See docs/import-export.md.
    \b
    Examples:
      mailtool import alice@example.com mbox ~/mail/inbox ~/mail/sent.mbox
      mailtool import alice@example.com maildir ~/Maildir
      mailtool import alice@example.com imap imaps://alice@old.example.com \\
          --password-command 'pass show old-mail'
    """
    ctx.obj = {**(ctx.obj or {}), "import_user": user}


def _user(ctx: click.Context) -> str:
    return str(ctx.obj["import_user"])


@import_.command("mbox")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--folder", help="Put every message in this folder (default: named after the file).")
@click.option("--mboxo", is_flag=True,
              help="Undo mboxo quoting (only '>From ' lines) instead of mboxrd ('>>From ' too).")
@json_option
@click.pass_context
def import_mbox(ctx: click.Context, files: tuple[Path, ...], folder: str | None, mboxo: bool,
                as_json: bool) -> None:  # fmt: skip
    """Import mbox FILES (a directory: every *.mbox under it, folder = path).

    \b
    Examples:
      mailtool import alice@example.com mbox ~/mail/inbox ~/mail/sent.mbox
      mailtool import alice@example.com mbox --folder Archive/2019 old.mbox
    """
    from mailtool.transfer.files import import_mbox as run

    with _importer(ctx, _user(ctx), as_json) as (importer, progress):
        run(importer, list(files), progress, folder=folder, mboxrd=not mboxo)


@import_.command("maildir")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
@click.pass_context
def import_maildir(ctx: click.Context, root: Path, as_json: bool) -> None:
    """Import a Maildir (Maildir++ or Dovecot's LAYOUT=fs) with Dovecot's UIDs and keywords.

    \b
    Examples:
      mailtool import alice@example.com maildir ~/Maildir
      mailtool import alice@example.com maildir /var/vmail/example.com/alice/Maildir
    """
    from mailtool.transfer.files import import_maildir as run

    with _importer(ctx, _user(ctx), as_json) as (importer, progress):
        run(importer, root, progress)


@import_.command("imap")
@click.argument("url")
@click.option("--password-command", help="Shell command whose first output line is the password "
              "(default: ask).")  # fmt: skip
@click.option("--insecure", is_flag=True, help="Do not verify the server's certificate.")
@click.option("--plaintext", is_flag=True,
              help="imap:// without STARTTLS: the password in clear (a server on loopback).")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
              help="Also trust this CA (PEM).")
@click.option("--folder", "folders", multiple=True, help="Only this folder (repeatable).")
@json_option
@click.pass_context
def import_imap(ctx: click.Context, url: str, password_command: str | None, insecure: bool,
                plaintext: bool, cafile: str | None, folders: tuple[str, ...],
                as_json: bool) -> None:  # fmt: skip
    """Import every folder of the IMAP account at URL (imaps://user@host[:port]).

    \b
    Examples:
      mailtool import alice@example.com imap imaps://alice@old.example.com \\
          --password-command 'pass show old-mail'
      mailtool import alice@example.com imap 'imaps://alice%40example.com@imap.old.net:993'
    """
    import asyncio

    from mailtool.client.account import run_password_command
    from mailtool.transfer.imap_source import import_imap as run
    from mailtool.transfer.imap_source import parse_url

    source = parse_url(url, insecure=insecure, plaintext=plaintext, cafile=cafile or "")
    if password_command:
        password = run_password_command(password_command)
    else:
        password = click.prompt(f"Password for {source.username}", hide_input=True, err=True)
    only: Callable[[str], bool] | None = (lambda name: name in folders) if folders else None
    with _importer(ctx, _user(ctx), as_json) as (importer, progress):
        asyncio.run(run(importer, source, password, progress, only=only))


@click.command("export")
@click.argument("user")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mbox", "maildir"]), default="mbox",
              show_default=True, help="One mbox file per folder, or a Maildir++ tree.")
@json_option
@click.pass_context
def export(ctx: click.Context, user: str, dest: Path, fmt: str, as_json: bool) -> None:
    """Write every folder of USER under DEST, with flags and dates (see docs/import-export.md).

    \b
    Examples:
      mailtool export alice@example.com backup/ --format mbox
      mailtool export alice@example.com ~/Maildir --format maildir
    """
    from mailtool.transfer.export import export as run
    from mailtool.transfer.progress import Progress

    mail = open_stores(ctx).mail.user(user)
    with Progress(False if as_json else None) as progress:
        result: dict[str, Any] = run(mail, fmt, dest, progress)  # type: ignore[arg-type]
    if as_json:
        print_json(result)
        return
    for name, c in sorted(result["folders"].items()):
        click.echo(f"{name}: {c['exported']} written, {c['skipped']} already there")
