"""The store services of one process, built from ``[store]``: the composition point every
server, the MDA and the CLI get their stores from.

``[store] url`` empty: SQLite + Maildir under ``data_dir`` (the embedded default).
``postgresql://...``: every shared thing in PostgreSQL (:mod:`mailtool.store.pg`).

Each service is built on first use and shared by every user in the process: in-process
change notifications (IMAP IDLE seeing an SMTP delivery) depend on one instance.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from mailtool.store.paths import DataDir

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailtool.config import Config
    from mailtool.store.pg.db import Database


class Stores:
    """Accounts, mail, queue and Sieve scripts for one process, on the configured backend."""

    def __init__(
        self,
        config: Config,
        *,
        worker: str | None = None,
        check_hash: Callable[[str, str], Any] | None = None,
        application_name: str = "mailtool",
    ) -> None:
        self.config = config
        #: where each thing lives in the data dir (on PostgreSQL: tls/ and run/ only)
        self.paths = DataDir(config.data_path)
        self.worker = worker
        self._check_hash = check_hash
        self._application_name = application_name

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.config.store.backend

    @functools.cached_property
    def database(self) -> Database:
        """The PostgreSQL pool (the PostgreSQL backend only)."""
        from mailtool.store.pg.db import Database

        if self.backend != "postgresql":
            raise RuntimeError("the SQLite backend has no database")
        return Database.from_config(self.config.store, application_name=self._application_name)

    def check(self, config_hint: str = "") -> None:
        """Refuse a database whose schema this mailtool does not know (SchemaMismatch)."""
        if self.backend == "postgresql":
            from mailtool.store.pg import schema

            schema.check(self.database, config_hint=config_hint)

    @functools.cached_property
    def accounts(self) -> Any:
        if self.backend == "postgresql":
            from mailtool.store.pg.accounts import PgAccountStore

            store: Any = PgAccountStore(
                self.database, scram_iterations=self.config.security.scram_iterations
            )
        else:
            from mailtool.store.accounts import AccountStore

            store = AccountStore(
                self.paths.accounts_db,
                scram_iterations=self.config.security.scram_iterations,
            )
        if self._check_hash is not None:
            store.check_hash = self._check_hash
        return store

    @functools.cached_property
    def mail(self) -> Any:
        if self.backend == "postgresql":
            from mailtool.store.pg.mailstore import PgMailStore

            return PgMailStore(self.database, accounts=self.accounts)
        from mailtool.store.mailstore import MailStore

        # MailStore(data_dir) keeps mail in <data_dir>/mail, where AccountStore creates it
        return MailStore(self.config.data_path, accounts=self.accounts)

    @functools.cached_property
    def queue(self) -> Any:
        if self.backend == "postgresql":
            from mailtool.store.pg.queue import PgQueue

            return PgQueue(self.database, slot_token=self.worker)
        from mailtool.store.queue import Queue

        return Queue(self.paths.queue, slot_token=self.worker)

    @functools.cached_property
    def sieve_scripts(self) -> Any:
        if self.backend == "postgresql":
            from mailtool.store.pg.sieve_scripts import PgSieveScripts

            return PgSieveScripts(self.database)
        from mailtool.store.sieve_scripts import SieveScripts

        return SieveScripts(self.config.data_path)

    @functools.cached_property
    def dkim_keys(self) -> Any:
        """DKIM signing keys: ``DATA_DIR/dkim`` files, or a table every node shares."""
        if self.backend == "postgresql":
            from mailtool.store.pg.dkim_keys import PgDkimKeys

            return PgDkimKeys(self.database)
        from mailtool.store.dkim_keys import DkimKeyFiles

        return DkimKeyFiles(self.paths.dkim)

    @functools.cached_property
    def mtasts_cache(self) -> Any:
        """MTA-STS policies of the domains we send to (RFC 8461 §5)."""
        if self.backend == "postgresql":
            from mailtool.store.pg.caches import PgPolicyCache

            return PgPolicyCache(self.database)
        from mailtool.store.caches import PolicyFiles

        return PolicyFiles(self.paths.mta_sts)

    @functools.cached_property
    def tlsrpt_log(self) -> Any:
        """Outbound TLS attempts waiting for the daily TLS-RPT report (RFC 8460)."""
        if self.backend == "postgresql":
            from mailtool.store.pg.caches import PgReportLog

            return PgReportLog(self.database)
        from mailtool.store.caches import ReportFiles

        return ReportFiles(self.paths.tlsrpt)

    def close(self) -> None:
        for name in ("mail", "accounts"):
            service = self.__dict__.get(name)
            if service is not None and hasattr(service, "close"):
                service.close()
        if "database" in self.__dict__:
            self.database.close()
