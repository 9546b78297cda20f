"""``mailtool store init|status``: the PostgreSQL backend's schema.

With ``[store] url`` empty the store is SQLite + Maildir in the data dir, which needs no
set-up; these commands then say so and exit 0.
"""

from __future__ import annotations

import click

from mailtool.cli.common import json_option, load_config, print_json
from mailtool.cli.store_migrate import migrate
from mailtool.errors import StoreError


@click.group()
def store() -> None:
    """The store backend: create or upgrade the PostgreSQL schema, show its state.

    \b
    Examples:
      mailtool store init              # create or upgrade the schema ([store] url)
      mailtool store status --json
      mailtool store migrate --to postgresql://mailtool@db1/mail   # a data dir into it
    """


def _database(ctx: click.Context):  # type: ignore[no-untyped-def]
    cfg = load_config(ctx)
    if cfg.store.backend != "postgresql":
        return None
    from mailtool.store.pg.db import Database

    return Database.from_config(cfg.store, application_name="mailtool-cli")


@store.command()
@json_option
@click.pass_context
def init(ctx: click.Context, as_json: bool) -> None:
    """Create the schema in [store] url's database, or upgrade it to this version.

    Idempotent, and safe while serve nodes run (each migration is one transaction; several
    nodes running it at once wait for each other).

    \b
    Examples:
      mailtool store init          # before the first serve, and after each upgrade
      mailtool store init --json   # {"backend": ..., "version": N, "applied": [...]}
    """
    db = _database(ctx)
    if db is None:
        message = "the store is SQLite + Maildir in the data dir: nothing to initialise"
        print_json({"backend": "sqlite", "applied": []}) if as_json else click.echo(message)
        return
    from mailtool.store.pg import schema

    try:
        applied = schema.init(db)
        version = schema.check(db)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.close()
    if as_json:
        print_json({"backend": "postgresql", "version": version,
                    "applied": [f"{m.version:03d}_{m.name}" for m in applied]})
        return
    for m in applied:
        click.echo(f"applied {m.version:03d}_{m.name}")
    click.echo(f"schema version {version}: up to date")


@store.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Which backend this config uses and, for PostgreSQL, the schema version.

    Exits 1 when the database's schema is not the one this mailtool needs.

    \b
    Examples:
      mailtool store status
      mailtool store status --json || mailtool store init
    """
    db = _database(ctx)
    if db is None:
        data = {"backend": "sqlite", "data_dir": str(load_config(ctx).data_path)}
        print_json(data) if as_json else click.echo(f"SQLite + Maildir in {data['data_dir']}")
        return
    from mailtool.store.pg import schema
    from mailtool.store.pg.db import redacted

    try:
        have = schema.current(db)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.close()
    want = schema.latest()
    data = {"backend": "postgresql", "url": redacted(db.url), "version": have, "needed": want}
    if as_json:
        print_json(data)
    else:
        click.echo(f"PostgreSQL {data['url']}: schema version {have}, this mailtool needs {want}")
    if have != want:
        ctx.exit(1)


store.add_command(migrate)
