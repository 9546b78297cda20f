"""``mailtool send``: send one message from a script, through the never-lose path."""

from __future__ import annotations

import sys

import click

from mailtool.cli.common import json_option, load_config, print_json


@click.command()
@click.option("--account", "-a", "account_name", help="Account name (default: the first).")
@click.option("--to", "to", multiple=True, required=True, help="Recipient (repeatable).")
@click.option("--cc", multiple=True, help="Cc recipient (repeatable).")
@click.option("--bcc", multiple=True, help="Bcc recipient (repeatable, not shown to others).")
@click.option("--subject", "-s", default="", help="Subject line.")
@click.option("--attach", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Attach a file (repeatable).")
@click.option("--in-reply-to", default="", help="Message-ID this answers (threading).")
@click.option("--no-imap", is_flag=True,
              help="Do not use IMAP (no draft in Drafts, no copy in Sent; a local draft file "
                   "protects the text instead).")
@json_option
@click.pass_context
def send(ctx: click.Context, account_name: str | None, to: tuple[str, ...],
         cc: tuple[str, ...], bcc: tuple[str, ...], subject: str, attach: tuple[str, ...],
         in_reply_to: str, no_imap: bool, as_json: bool) -> None:
    """Send a message whose body is read from standard input.

    The message is saved to Drafts before SMTP starts, filed in Sent after
    the server accepts it (250), and left in Drafts if sending fails.

    \b
    Examples:
      echo "See you at 5" | mailtool send --to bob@example.com -s "Meeting"
      mailtool send -a work --to ops@example.com -s report --attach out.csv < body.txt
    """
    import asyncio
    from pathlib import Path

    from mailtool.client.account import load_account
    from mailtool.client.compose import Draft, build

    account = load_account(load_config(ctx), account_name)
    if sys.stdin.isatty():  # a person typing, not a pipe: say how the body ends
        click.echo("Type the message body; end it with Ctrl-D on a line of its own.", err=True)
    body = sys.stdin.read()
    draft = Draft(from_=account.from_header, to=", ".join(to), cc=", ".join(cc),
                  bcc=", ".join(bcc), subject=subject, body=body, in_reply_to=in_reply_to,
                  references=in_reply_to, attachments=[Path(p) for p in attach])
    msg = build(draft)
    result = asyncio.run(_send(account, msg, use_imap=not no_imap, quiet=as_json))
    if as_json:
        print_json({"message_id": result.message_id, "smtp_reply": result.smtp_reply,
                    "sent_folder": result.sent_folder, "sent_uid": result.sent_uid,
                    "refused": result.refused, "warning": result.warning})
        return
    click.echo(f"sent {result.message_id}: {result.smtp_reply}")
    if result.warning:
        click.secho(f"warning: {result.warning}", fg="yellow", err=True)


async def _prompt(text: str) -> str:
    import getpass

    # stdin carries the body: ask on the terminal itself
    return getpass.getpass(f"{text}: ")


async def _send(account, msg, *, use_imap: bool, quiet: bool):
    from mailtool.client.imap import open_client
    from mailtool.client.imap_transport import ImapClientError
    from mailtool.client.sendpath import send

    def progress(text: str) -> None:
        if not quiet:
            click.echo(text, err=True)

    password = await account.password(_prompt)
    imap = None
    if use_imap:
        try:
            imap = await open_client(account.imap, account.username, password)
        except ImapClientError as exc:
            click.secho(f"warning: IMAP unavailable ({exc}); draft kept locally", fg="yellow",
                        err=True)
    try:
        return await send(account, msg, imap=imap, password=password, progress=progress)
    finally:
        if imap is not None:
            await imap.close()
