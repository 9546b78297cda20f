"""``mailtool queue list|show|flush|retry|delete|bounce``: look at and steer the spool.

The commands work on the configured backend's queue directly (the spool files,
lock-file-safe next to a running server, see :mod:`mailtool.store.queue`; or the
PostgreSQL queue). Flush, retry and bounce rewrite the recipients' state, then wake
the running servers (the queue's ``wake()``, or ``queue/.wake`` for the spool): a
running server notices within a second and acts; a stopped one acts when it starts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from mailtool.cli.common import json_option, open_stores, print_json
from mailtool.errors import StoreError

if TYPE_CHECKING:
    from mailtool.store.interfaces import QueueEntry, QueueStore

ADMIN_BOUNCE = "550 5.0.0 returned to the sender by the administrator (mailtool queue bounce)"


def _queue(ctx: click.Context) -> QueueStore:
    return open_stores(ctx).queue


def _wake(queue: QueueStore) -> None:
    wake = getattr(queue, "wake", None)
    if wake is not None:
        wake()  # a backend that wakes every node itself (PostgreSQL: NOTIFY)
        return
    from mailtool.mta.relay import wake_server

    wake_server(queue.path)  # type: ignore[attr-defined]


def _age(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def entry_json(entry: QueueEntry) -> dict[str, Any]:
    data = entry.to_json()
    data.pop("format", None)
    data["size"] = entry.message_size
    return data


def _recipient_line(r: Any, now: float) -> str:
    when = ""
    if r.status == "pending" and r.next_attempt and r.next_attempt > now:
        when = f", next in {_age(r.next_attempt - now)}"
    error = f"\n    {r.last_error}" if r.last_error else ""
    return f"{r.address} [{r.status}, {r.attempts} attempts{when}]{error}"


@click.group()
def queue() -> None:
    """Messages waiting for delivery (the spool).

    \b
    Examples:
      mailtool queue list
      mailtool queue show 0000018c1f2e3d4a-1a2b3c4d
      mailtool queue flush              try every deferred message now
    """


@queue.command("list")
@json_option
@click.pass_context
def queue_list(ctx: click.Context, as_json: bool) -> None:
    """List queued messages, oldest first, with each recipient's state.

    \b
    Examples:
      mailtool queue list
      mailtool queue list --json | jq '.[].id'
    """
    entries = _queue(ctx).list()
    if as_json:
        print_json([entry_json(e) for e in entries])
        return
    # one block per message, like postqueue -p: greppable, never folded to the terminal
    now = time.time()
    for e in entries:
        click.echo(f"{e.id}  {_age(now - e.created):>4}  from {e.sender or '<>'}")
        for r in e.recipients:
            click.echo("    " + _recipient_line(r, now).replace("\n", "\n    "))
    click.echo(f"{len(entries)} messages in the queue")


@queue.command("show")
@click.argument("queue_id")
@json_option
@click.option("--body", is_flag=True, help="Print the whole message, not only its header.")
@click.pass_context
def queue_show(ctx: click.Context, queue_id: str, as_json: bool, body: bool) -> None:
    """Show one message's envelope, recipients and header.

    \b
    Examples:
      mailtool queue show 0000018c1f2e3d4a-1a2b3c4d
      mailtool queue show 0000018c1f2e3d4a-1a2b3c4d --body
    """
    entry = _queue(ctx).get(queue_id)
    if as_json:
        print_json(entry_json(entry))
        return
    now = time.time()
    click.echo(f"id:      {entry.id}")
    click.echo(f"age:     {_age(now - entry.created)}")
    click.echo(f"sender:  {entry.sender or '<>'}")
    for r in entry.recipients:
        click.echo("rcpt:    " + _recipient_line(r, now))
    click.echo("")
    message = entry.read_message()
    if not body:
        end = message.find(b"\r\n\r\n")
        message = message[: end + 2] if end != -1 else message
    click.echo(message.decode("utf-8", "replace").replace("\r\n", "\n"), nl=False)


@queue.command("flush")
@click.pass_context
def queue_flush(ctx: click.Context) -> None:
    """Try every deferred recipient now, ignoring the retry schedule.

    \b
    Example:
      mailtool queue flush
    """
    q = _queue(ctx)
    count = 0
    for entry_id in q.ids():
        try:
            q.reschedule(entry_id, next_attempt=None)
        except StoreError:  # delivered and removed meanwhile: nothing to flush
            continue
        count += 1
    _wake(q)
    click.echo(f"flushed {count} messages")


@queue.command("retry")
@click.argument("queue_id")
@click.pass_context
def queue_retry(ctx: click.Context, queue_id: str) -> None:
    """Try one message's deferred recipients now.

    \b
    Example:
      mailtool queue retry 0000018c1f2e3d4a-1a2b3c4d
    """
    q = _queue(ctx)
    q.reschedule(queue_id, next_attempt=None)
    _wake(q)
    click.echo(f"{queue_id}: will be retried now")


@queue.command("delete")
@click.argument("queue_id")
@click.pass_context
def queue_delete(ctx: click.Context, queue_id: str) -> None:
    """Delete a message from the queue without telling its sender.

    \b
    Example:
      mailtool queue delete 0000018c1f2e3d4a-1a2b3c4d
    """
    _queue(ctx).remove(queue_id, force=True)
    click.echo(f"{queue_id}: deleted")


@queue.command("bounce")
@click.argument("queue_id")
@click.pass_context
def queue_bounce(ctx: click.Context, queue_id: str) -> None:
    """Give up on a message: its sender gets a bounce (DSN) for every recipient not yet
    delivered, then it leaves the queue.

    \b
    Example:
      mailtool queue bounce 0000018c1f2e3d4a-1a2b3c4d
    """
    q = _queue(ctx)
    q.reschedule(queue_id, fail=ADMIN_BOUNCE)
    _wake(q)
    click.echo(f"{queue_id}: will be returned to its sender")
