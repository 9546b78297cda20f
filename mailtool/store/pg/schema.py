"""Versioned schema migrations for the PostgreSQL backend.

Each migration is ``migrations/NNN_name.sql``, applied once, in number order, each in its
own transaction, and recorded in ``mailtool_schema``. ``init`` is idempotent and safe to
run from several nodes at once (an advisory lock serialises them); ``check`` is what serve
runs at start: it refuses a database whose schema this mailtool does not know, and says
which command fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from mailtool.errors import SchemaMismatch
from mailtool.store.pg.db import Database, redacted

#: pg_advisory_xact_lock key: "mailtool schema" (any constant; one writer of the schema)
_LOCK = 0x6D61696C5F736368
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

_CREATE_VERSIONS = """
CREATE TABLE IF NOT EXISTS mailtool_schema (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration this mailtool ships, in order."""
    found = []
    for entry in resources.files("mailtool.store.pg.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def latest() -> int:
    """The schema version this mailtool needs."""
    return max((m.version for m in migrations()), default=0)


def current(db: Database) -> int | None:
    """The database's schema version; None when it has no mailtool schema at all."""
    with db.connection() as conn:
        row = conn.execute("SELECT to_regclass('mailtool_schema') IS NOT NULL").fetchone()
        if not row or not row[0]:
            conn.rollback()
            return None
        row = conn.execute("SELECT coalesce(max(version), 0) FROM mailtool_schema").fetchone()
        conn.rollback()
        return int(row[0]) if row else 0


def init(db: Database) -> list[Migration]:
    """Create or upgrade the schema; returns the migrations applied now (empty: up to date)."""
    applied: list[Migration] = []
    for migration in migrations():
        with db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            conn.execute(_CREATE_VERSIONS)
            done = conn.execute(
                "SELECT 1 FROM mailtool_schema WHERE version = %s", (migration.version,)
            ).fetchone()
            if done:
                continue
            conn.execute(migration.sql)  # type: ignore[arg-type]  # our own files
            conn.execute(
                "INSERT INTO mailtool_schema (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration)
    return applied


def check(db: Database, *, config_hint: str = "") -> int:
    """The schema version, when it is the one this mailtool needs; else SchemaMismatch."""
    have = current(db)
    want = latest()
    where = redacted(db.url)
    command = f"mailtool{config_hint} store init"
    if have is None:
        raise SchemaMismatch(
            f"the database {where} has no mailtool schema; create it with `{command}`"
        )
    if have < want:
        raise SchemaMismatch(
            f"the database {where} has schema version {have}, this mailtool needs {want}; "
            f"upgrade it with `{command}` (nodes of the older version keep working "
            "until then)"
        )
    if have > want:
        raise SchemaMismatch(
            f"the database {where} has schema version {have}, newer than this mailtool "
            f"knows ({want}); upgrade mailtool on this node"
        )
    return have
