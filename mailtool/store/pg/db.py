"""One pool of PostgreSQL connections per process, and the transactions the stores run.

Why psycopg 3 (not asyncpg): the store layer is synchronous (the servers call it from
worker threads, the CLI directly); psycopg has a blocking API, COPY and server-side cursors
to stream bodies, LISTEN/NOTIFY, and a maintained pool that drops connections a database
restart broke (``check``), so nodes reconnect by themselves.

Every failure to reach the database becomes :class:`~mailtool.errors.StoreUnavailable`:
the servers answer it with a temporary error (nothing was written, the client retries).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from mailtool.errors import ConfigError, StoreUnavailable

if TYPE_CHECKING:
    from mailtool.config import StoreConfig

log = logging.getLogger(__name__)

#: seconds a caller waits for a free pooled connection (or for the database to come back)
#: before the operation fails as temporarily unavailable
CONNECT_TIMEOUT = 5.0


def redacted(url: str) -> str:
    """``url`` without its password, for logs and messages (secrets are never logged)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://<unparsable url>"
    user = info.get("user", "")
    host = info.get("host", "localhost")
    port = info.get("port", "5432")
    return f"postgresql://{user}{'@' if user else ''}{host}:{port}/{info.get('dbname', '')}"


class Database:
    """A pool of connections to one PostgreSQL database.

    ``with db.transaction() as conn:`` runs the block in one transaction (committed on a
    clean exit, rolled back on an exception); ``with db.connection() as conn:`` lends an
    autocommit-off connection without a transaction block of ours.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        pool_size: int = 10,
        application_name: str = "mailtool",
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        kwargs: dict[str, Any] = {"application_name": application_name}
        if password is not None:
            kwargs["password"] = password
        self._kwargs = kwargs
        self.pool = ConnectionPool(
            url,
            kwargs=kwargs,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            check=ConnectionPool.check_connection,  # a restart's dead sockets are replaced
            timeout=connect_timeout,
            reconnect_timeout=0,  # keep trying while nodes wait for the database to return
            name="mailtool",
        )
        self._opened = False

    @classmethod
    def from_config(cls, store: StoreConfig, *, application_name: str = "mailtool") -> Database:
        """The database ``[store]`` names; the password from ``password_file`` when set."""
        password = None
        if store.password_file:
            try:
                password = Path(store.password_file).read_text().splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ConfigError(
                    f"cannot read the password from {store.password_file}: "
                    f"{getattr(exc, 'strerror', None) or 'empty file'}",
                    key="store.password_file",
                ) from None
        return cls(
            store.url,
            password=password,
            pool_size=store.pool_size,
            application_name=application_name,
        )

    def __repr__(self) -> str:
        return f"Database({redacted(self.url)})"

    def _open(self) -> None:
        if not self._opened:
            self.pool.open(wait=False)
            self._opened = True

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; :class:`StoreUnavailable` when none can be had in time."""
        self._open()
        try:
            with self.pool.connection(timeout=self.connect_timeout) as conn:
                yield conn
        except PoolTimeout:
            raise StoreUnavailable(
                f"the database {redacted(self.url)} did not answer within "
                f"{self.connect_timeout:g} s; is PostgreSQL running?"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"the database {redacted(self.url)} is unavailable: {_first_line(exc)}"
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool (LISTEN, long COPY); the caller closes it."""
        try:
            return psycopg.connect(
                self.url, autocommit=autocommit, connect_timeout=int(self.connect_timeout) or 1,
                **self._kwargs,
            )
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"the database {redacted(self.url)} is unavailable: {_first_line(exc)}"
            ) from None

    def close(self) -> None:
        if self._opened:
            self.pool.close()
            self._opened = False


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
