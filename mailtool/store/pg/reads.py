"""Small read helpers over :class:`~mailtool.store.pg.db.Database` for the PG stores.

A read borrows a pooled connection, runs one statement and ends its implicit
transaction (a connection goes back to the pool idle, never "idle in transaction").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailtool.store.pg.db import Database

Params = Sequence[Any] | dict[str, Any]


def rows(db: Database, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
    """Every row of one query."""
    with db.connection() as conn:
        try:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
        finally:
            conn.rollback()


def one(db: Database, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
    """The first row of one query, None when there is none."""
    found = rows(db, sql, params)
    return found[0] if found else None


def exists(db: Database, sql: str, params: Params = ()) -> bool:
    return one(db, sql, params) is not None
