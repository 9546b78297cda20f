"""Helpers shared by command modules: loading the config, printing results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from mailtool import config as config_mod

if TYPE_CHECKING:
    from mailtool.store.backends import Stores

#: commands that write the data dir: run as root, they act as its owner (privsep)
DATA_DIR_COMMANDS = frozenset(
    # store: `store migrate` syncs the data dir's folders (index writes) before it copies
    {"domain", "user", "alias", "sieve", "queue", "dkim", "import", "export", "store"}
)


def load_config(ctx: click.Context) -> config_mod.Config:
    """The effective config for this invocation (global --config / --data-dir applied).

    A command in :data:`DATA_DIR_COMMANDS` run as root becomes the data dir's owner
    here, before it opens anything in it: no root-owned file is left behind for the
    server (running as its service user) to trip over."""
    root = ctx.find_root()
    obj = root.obj or {}
    cfg = config_mod.load(obj.get("config_path"), data_dir=obj.get("data_dir"))
    if root.invoked_subcommand in DATA_DIR_COMMANDS:
        from mailtool.privsep import act_as_owner

        act_as_owner(cfg.data_path)
    return cfg


def open_stores(
    ctx: click.Context, config: config_mod.Config | None = None, *, check: bool = True
) -> Stores:
    """The configured backend's stores (SQLite + Maildir in the data dir, or PostgreSQL),
    closed when the command ends: commands never name a backend's classes themselves.

    ``check``: refuse a PostgreSQL database whose schema this mailtool does not know
    (:class:`~mailtool.errors.SchemaMismatch` names ``mailtool store init``)."""
    from mailtool.store.backends import Stores

    stores = Stores(config or load_config(ctx), application_name="mailtool-cli")
    ctx.call_on_close(stores.close)
    if check:
        stores.check()
    return stores


def json_option(func: Any) -> Any:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
