"""Sieve scripts in PostgreSQL: the twin of :class:`mailtool.store.sieve_scripts.SieveScripts`
for ``[store] url = "postgresql://..."``.

Tables (005_shared.sql): ``sieve_scripts`` (each user's named scripts), ``sieve_users``
(the active script's name, the settings), ``sieve_global`` (name ``''``: the global
script run before every user's; other names: what ``include :global`` reaches, RFC 6609
§3.2). Same names, checks, errors and limits as the files (:func:`check_name`, RFC 5804
§2.10: the active script cannot be deleted). Nothing is cached: a ``sieve set`` or a
ManageSieve PUTSCRIPT on any node applies to the next delivery on every node; a delivery
costs two queries (the global script; the user's active script with the settings).
"""

from __future__ import annotations

import json
from typing import Any

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.store import address as addr
from mailtool.store.pg.db import Database
from mailtool.store.pg.reads import one, rows
from mailtool.store.pg.sieve_state import PgDuplicateLog, PgNotifyLog, PgVacationLog
from mailtool.store.sieve_scripts import ScriptInfo, check_name

#: the sieve_global row of the script run before every user's
GLOBAL = ""


def _user(user: str) -> str:
    """The user's key (one spelling); InvalidAddress for what cannot be a user."""
    local, domain = addr.split(user)
    return f"{local}@{domain}"


class PgSieveScripts:
    """All Sieve scripts of the cluster."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"PgSieveScripts({self.db!r})"

    # ---------------------------------------------------------------- named scripts

    def list(self, user: str) -> list[ScriptInfo]:
        key = _user(user)
        found = rows(
            self.db,
            "SELECT s.name, u.active IS NOT DISTINCT FROM s.name, octet_length(s.body)"
            " FROM sieve_scripts s LEFT JOIN sieve_users u ON u.address = s.address"
            " WHERE s.address = %s ORDER BY s.name",
            (key,),
        )
        return [ScriptInfo(name, bool(active), int(size)) for name, active, size in found]

    def exists(self, user: str, name: str) -> bool:
        row = one(
            self.db,
            "SELECT 1 FROM sieve_scripts WHERE address = %s AND name = %s",
            (_user(user), check_name(name)),
        )
        return row is not None

    def get(self, user: str, name: str) -> str:
        row = one(
            self.db,
            "SELECT body FROM sieve_scripts WHERE address = %s AND name = %s",
            (_user(user), check_name(name)),
        )
        if row is None:
            raise NotFound(f"no script named {name!r}")
        return str(row[0])

    def put(self, user: str, name: str, text: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO sieve_scripts (address, name, body) VALUES (%s, %s, %s)"
                " ON CONFLICT (address, name) DO UPDATE SET body = EXCLUDED.body",
                (_user(user), check_name(name), text),
            )

    def delete(self, user: str, name: str) -> None:
        """RFC 5804 §2.10: the active script cannot be deleted."""
        key, name = _user(user), check_name(name)
        with self.db.transaction() as conn:
            active = conn.execute(
                "SELECT 1 FROM sieve_users WHERE address = %s AND active = %s FOR UPDATE",
                (key, name),
            ).fetchone()
            if active:
                raise StoreError(f"script {name!r} is active; deactivate it first")
            cur = conn.execute(
                "DELETE FROM sieve_scripts WHERE address = %s AND name = %s", (key, name)
            )
            if cur.rowcount == 0:
                raise NotFound(f"no script named {name!r}")

    def rename(self, user: str, old: str, new: str) -> None:
        key, old, new = _user(user), check_name(old), check_name(new)
        with self.db.transaction() as conn:
            if not conn.execute(
                "SELECT 1 FROM sieve_scripts WHERE address = %s AND name = %s FOR UPDATE",
                (key, old),
            ).fetchone():
                raise NotFound(f"no script named {old!r}")
            if conn.execute(
                "SELECT 1 FROM sieve_scripts WHERE address = %s AND name = %s", (key, new)
            ).fetchone():
                raise AlreadyExists(f"a script named {new!r} exists")
            conn.execute(
                "UPDATE sieve_scripts SET name = %s WHERE address = %s AND name = %s",
                (new, key, old),
            )
            conn.execute(
                "UPDATE sieve_users SET active = %s WHERE address = %s AND active = %s",
                (new, key, old),
            )

    def activate(self, user: str, name: str | None) -> None:
        """Make ``name`` the active script; None (or "") deactivates (RFC 5804 §2.8)."""
        key = _user(user)
        with self.db.transaction() as conn:
            if name and not conn.execute(
                "SELECT 1 FROM sieve_scripts WHERE address = %s AND name = %s FOR SHARE",
                (key, check_name(name)),
            ).fetchone():
                raise NotFound(f"no script named {name!r}")
            conn.execute(
                "INSERT INTO sieve_users (address, active) VALUES (%s, %s)"
                " ON CONFLICT (address) DO UPDATE SET active = EXCLUDED.active",
                (key, name or None),
            )

    def active_name(self, user: str) -> str | None:
        row = one(
            self.db,
            "SELECT u.active FROM sieve_users u JOIN sieve_scripts s"
            " ON s.address = u.address AND s.name = u.active WHERE u.address = %s",
            (_user(user),),
        )
        return str(row[0]) if row else None

    def active_script(self, user: str) -> str | None:
        """The text of the user's active script, or None when filtering is off."""
        return self.user_filters(user)[0]

    def user_filters(self, user: str) -> tuple[str | None, dict[str, object]]:
        """What delivery needs of ``user``: (active script text or None, settings), one query."""
        row = one(
            self.db,
            "SELECT s.body, u.settings FROM sieve_users u LEFT JOIN sieve_scripts s"
            " ON s.address = u.address AND s.name = u.active WHERE u.address = %s",
            (_user(user),),
        )
        if row is None:
            return None, {}
        return row[0], _settings(row[1])

    def usage(self, user: str) -> tuple[int, int]:
        """(number of scripts, bytes) — for ManageSieve's HAVESPACE."""
        row = one(
            self.db,
            "SELECT count(*), coalesce(sum(octet_length(body)), 0) FROM sieve_scripts"
            " WHERE address = %s",
            (_user(user),),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # ---------------------------------------------------------------- global scripts

    def global_script(self) -> str | None:
        return self.global_include(GLOBAL)

    def set_global(self, text: str) -> None:
        self._put_global(GLOBAL, text)

    def remove_global(self) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute("DELETE FROM sieve_global WHERE name = %s", (GLOBAL,))
            return cur.rowcount > 0

    def global_include(self, name: str) -> str | None:
        """The ``:global`` script ``name`` (RFC 6609 §3.2), None when there is none."""
        row = one(self.db, "SELECT body FROM sieve_global WHERE name = %s", (name,))
        return str(row[0]) if row else None

    def set_global_include(self, name: str, text: str) -> None:
        """Install the ``:global`` script ``name`` (on SQLite: sieve/global/NAME.sieve)."""
        self._put_global(check_name(name), text)

    def _put_global(self, name: str, text: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO sieve_global (name, body) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body",
                (name, text),
            )

    # ---------------------------------------------------------------- settings and state

    def settings(self, user: str) -> dict[str, object]:
        """The user's settings (a fresh dict each call: callers may change it)."""
        row = one(self.db, "SELECT settings FROM sieve_users WHERE address = %s", (_user(user),))
        return _settings(row[0]) if row else {}

    def set_setting(self, user: str, key: str, value: object) -> None:
        with self.db.transaction() as conn:  # one statement: atomic against other nodes
            conn.execute(
                "INSERT INTO sieve_users (address, settings) VALUES (%s, jsonb_build_object("
                "%s::text, %s::jsonb)) ON CONFLICT (address) DO UPDATE SET settings ="
                " sieve_users.settings || EXCLUDED.settings",
                (_user(user), key, json.dumps(value)),
            )

    def vacation_memory(self, user: str) -> PgVacationLog:
        return PgVacationLog(self.db, _user(user))

    def duplicate_log(self, user: str) -> PgDuplicateLog:
        return PgDuplicateLog(self.db, _user(user))

    def notify_log(self, user: str) -> PgNotifyLog:
        return PgNotifyLog(self.db, _user(user))


def _settings(value: Any) -> dict[str, object]:
    if isinstance(value, str):  # jsonb arrives decoded; text only from an older driver
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}
