"""``mailtool domain|user|alias ...``: manage who gets mail here.

Thin: parse options, call one method of the configured backend's account store
(:func:`~mailtool.cli.common.open_stores`: SQLite or PostgreSQL), render. Store
imports stay inside the functions so ``mailtool --help`` stays light. Passwords
are read from a hidden prompt or ``--password-stdin``, never from the
command line (it would land in shell history and ``ps``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from mailtool.cli.common import json_option, load_config, open_stores, print_json

if TYPE_CHECKING:
    from mailtool.store.backends import Stores
    from mailtool.store.interfaces import AccountStore

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """``"500M"`` -> bytes; ``"none"`` / ``"unlimited"`` -> None."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    if value in ("NONE", "UNLIMITED"):
        return None
    unit = value[-1:] if value[-1:] in _UNITS else ""
    number = value[: len(value) - len(unit)]
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size like 500M, 2G or none") from None


def parse_count(text: str) -> int | None:
    if text.strip().lower() in ("none", "unlimited"):
        return None
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number or none") from None


def human_size(n: int | None) -> str:
    if n is None:
        return "∞"
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _accounts(ctx: click.Context) -> AccountStore:
    return open_stores(ctx).accounts


def _mail_location(stores: Stores, address: str) -> str:
    """Where the user's mail is kept, for the messages below."""
    if stores.backend != "sqlite":
        return "the PostgreSQL store"
    return str(stores.accounts.maildir_path(address))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("the password is empty")
    return password


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*r)
    Console().print(table)


password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)

# --------------------------------------------------------------------------- domain


@click.group()
def domain() -> None:
    """Domains this server receives mail for.

    \b
    Examples:
      mailtool domain add example.test
      mailtool domain list --json
      mailtool domain remove old.test --force
    """


@domain.command("add")
@click.argument("name")
@click.pass_context
def domain_add(ctx: click.Context, name: str) -> None:
    """Make NAME a local domain (mail to it is delivered here).

    \b
    Example:
      mailtool domain add example.test
    """
    click.echo(f"added domain {_accounts(ctx).add_domain(name)}")


@domain.command("list")
@json_option
@click.pass_context
def domain_list(ctx: click.Context, as_json: bool) -> None:
    """List local domains with their numbers of users and aliases.

    \b
    Examples:
      mailtool domain list
      mailtool domain list --json
    """
    store = _accounts(ctx)
    data = [
        {"domain": d, "users": len(store.users(d)), "aliases": len(store.aliases(d))}
        for d in store.domains()
    ]
    if as_json:
        print_json(data)
    else:
        _table(
            "Domains",
            ["domain", "users", "aliases"],
            [[d["domain"], str(d["users"]), str(d["aliases"])] for d in data],
        )


@domain.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove even with users (their mail stays on disk).")
@click.pass_context
def domain_remove(ctx: click.Context, name: str, force: bool) -> None:
    """Stop receiving mail for NAME.

    \b
    Examples:
      mailtool domain remove old.test
      mailtool domain remove old.test --force
    """
    _accounts(ctx).remove_domain(name, force=force)
    click.echo(f"removed domain {name.lower()}")


# --------------------------------------------------------------------------- user


@click.group()
def user() -> None:
    """Mailboxes: create, list, change passwords and quotas, remove.

    \b
    Examples:
      mailtool user add alice@example.test
      echo 's3cret' | mailtool user add bob@example.test --password-stdin
      mailtool user list
      mailtool user quota alice@example.test --storage 2G --messages 50000
    """


@user.command("add")
@click.argument("address")
@password_stdin
@click.option("--storage", "storage", default="none", help="Storage quota: 500M, 2G or none.")
@click.option("--messages", "messages", default="none", help="Message-count quota or none.")
@click.pass_context
def user_add(
    ctx: click.Context, address: str, password_stdin: bool, storage: str, messages: str
) -> None:
    """Create ADDRESS with a password and a Maildir (INBOX, Sent, Drafts, Junk, Trash,
    Archive). The domain must be local already.

    \b
    Examples:
      mailtool user add alice@example.test
      mailtool user add bob@example.test --storage 1G --password-stdin < pw.txt
    """
    from mailtool.store.interfaces import Quota

    quota = Quota(parse_size(storage), parse_count(messages))
    stores = open_stores(ctx)
    password = _read_password(password_stdin)
    created = stores.accounts.add_user(address, password, quota=quota)
    click.echo(f"added user {created.address} (mail in {_mail_location(stores, created.address)})")
    from mailtool.web.account_table import account_table

    table = account_table(load_config(ctx), created.address)
    if table:
        click.echo("\nFor mailtool tui / mailtool send, paste into "
                   "~/.config/mailtool/mailtool.toml:")
        click.echo(table, nl=False)


def _usage(stores: Stores, address: str) -> tuple[int, int] | None:
    from mailtool.errors import StoreError
    from mailtool.store.address import split

    if stores.backend == "sqlite" and not stores.paths.mailbox_index(*split(address)).exists():
        return None  # no server has opened this mailbox yet: do not create files for it here
    try:
        used = stores.mail.user(address).usage()
    except StoreError:
        return None
    return used.messages, used.bytes


def _user_row(stores: Stores, u: Any) -> dict[str, Any]:
    used = _usage(stores, u.address)
    return {
        "address": u.address,
        "messages": used[0] if used else None,
        "bytes": used[1] if used else None,
        "quota_messages": u.quota.messages,
        "quota_bytes": u.quota.storage_bytes,
    }


@user.command("list")
@click.argument("domain_name", metavar="[DOMAIN]", required=False)
@json_option
@click.pass_context
def user_list(ctx: click.Context, domain_name: str | None, as_json: bool) -> None:
    """List users (of DOMAIN) with their mail use and quota.

    \b
    Examples:
      mailtool user list
      mailtool user list example.test --json
    """
    stores = open_stores(ctx)
    data = [_user_row(stores, u) for u in stores.accounts.users(domain_name)]
    if as_json:
        print_json(data)
        return

    def used(n: int | None, limit: int | None, fmt: Any) -> str:
        return f"{'-' if n is None else fmt(n)} / {fmt(limit) if limit is not None else '∞'}"

    _table(
        "Users",
        ["address", "messages", "storage"],
        [
            [
                d["address"],
                used(d["messages"], d["quota_messages"], str),
                used(d["bytes"], d["quota_bytes"], human_size),
            ]
            for d in data
        ],
    )


@user.command("passwd")
@click.argument("address")
@password_stdin
@click.pass_context
def user_passwd(ctx: click.Context, address: str, password_stdin: bool) -> None:
    """Set a new password for ADDRESS (argon2id hash and SCRAM-SHA-256 keys).

    \b
    Examples:
      mailtool user passwd alice@example.test
      pass show mail/alice | mailtool user passwd alice@example.test --password-stdin
    """
    store = _accounts(ctx)
    store.get_user(address)  # say "no such user" before asking for a password
    store.set_password(address, _read_password(password_stdin))
    click.echo(f"password changed for {address.lower()}")


@user.command("remove")
@click.argument("address")
@click.option("--purge", is_flag=True, help="Also delete the user's mail (asks first).")
@click.option("--yes", is_flag=True, help="Do not ask before --purge deletes mail.")
@click.pass_context
def user_remove(ctx: click.Context, address: str, purge: bool, yes: bool) -> None:
    """Remove ADDRESS. Its Maildir stays on disk unless --purge.

    \b
    Examples:
      mailtool user remove bob@example.test
      mailtool user remove bob@example.test --purge --yes
    """
    stores = open_stores(ctx)
    stores.accounts.get_user(address)
    if purge and not yes:
        click.confirm(f"delete all mail of {address.lower()}?", abort=True)
    kept = "" if purge else f" (mail kept in {_mail_location(stores, address)})"
    stores.accounts.remove_user(address, purge=purge)
    click.echo(f"removed user {address.lower()}{kept}")


@user.command("quota")
@click.argument("address")
@click.option("--storage", help="Storage limit: 500M, 2G or none.")
@click.option("--messages", help="Message-count limit or none.")
@json_option
@click.pass_context
def user_quota(
    ctx: click.Context, address: str, storage: str | None, messages: str | None, as_json: bool
) -> None:
    """Show ADDRESS's quota and use, or change it with --storage / --messages.

    \b
    Examples:
      mailtool user quota alice@example.test
      mailtool user quota alice@example.test --storage 2G --messages none
    """
    from mailtool.store.interfaces import Quota

    stores = open_stores(ctx)
    store = stores.accounts
    current = store.get_user(address)
    if storage is not None or messages is not None:
        quota = Quota(
            parse_size(storage) if storage is not None else current.quota.storage_bytes,
            parse_count(messages) if messages is not None else current.quota.messages,
        )
        store.set_quota(address, quota)
        current = store.get_user(address)
    row = _user_row(stores, current)
    if as_json:
        print_json(row)
    else:
        n = "-" if row["messages"] is None else row["messages"]
        limit = "∞" if row["quota_messages"] is None else row["quota_messages"]
        click.echo(
            f"{row['address']}: {n} messages (limit {limit}),"
            f" {human_size(row['bytes'] or 0)} (limit {human_size(row['quota_bytes'])})"
        )


# --------------------------------------------------------------------------- alias


@click.group()
def alias() -> None:
    """Aliases: extra addresses that deliver to users (or forward elsewhere).

    \b
    Examples:
      mailtool alias add info@example.test alice@example.test bob@example.test
      mailtool alias add @example.test postmaster@example.test   # catch-all
      mailtool alias list
    """


@alias.command("add")
@click.argument("source")
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def alias_add(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    """Deliver mail for SOURCE (an address, or @domain for a catch-all) to TARGETS.

    \b
    Examples:
      mailtool alias add postmaster@example.test alice@example.test
      mailtool alias add @example.test alice@example.test
    """
    made = _accounts(ctx).add_alias(source, targets)
    click.echo(f"{made.source} -> {', '.join(made.targets)}")


@alias.command("list")
@click.argument("domain_name", metavar="[DOMAIN]", required=False)
@json_option
@click.pass_context
def alias_list(ctx: click.Context, domain_name: str | None, as_json: bool) -> None:
    """List aliases (of DOMAIN).

    \b
    Examples:
      mailtool alias list
      mailtool alias list example.test --json
    """
    data = [
        {"source": a.source, "targets": list(a.targets)}
        for a in _accounts(ctx).aliases(domain_name)
    ]
    if as_json:
        print_json(data)
    else:
        _table(
            "Aliases", ["source", "targets"], [[d["source"], ", ".join(d["targets"])] for d in data]
        )


@alias.command("remove")
@click.argument("source")
@click.argument("targets", nargs=-1)
@click.pass_context
def alias_remove(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    """Remove SOURCE entirely, or only the given TARGETS of it.

    \b
    Examples:
      mailtool alias remove info@example.test
      mailtool alias remove info@example.test bob@example.test
    """
    _accounts(ctx).remove_alias(source, targets)
    click.echo(f"removed alias {source.lower()}" + (f" -> {', '.join(targets)}" if targets else ""))
