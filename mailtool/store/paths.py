"""The data dir's layout, in one place: every module asks :class:`DataDir` where a thing
lives instead of joining names to ``data_dir`` itself.

The layout (the embedded SQLite + Maildir backend; on PostgreSQL a node keeps only
``tls/`` and ``run/`` here)::

    <data_dir>/
        accounts.db          domains, users, aliases (store/accounts.py)
        mail/<domain>/<local>/   one Maildir++ per user, with its index (store/mailstore.py)
        queue/               the spool (store/queue.py); queue/tmp: SMTP workers' spool files
        sieve/               users' Sieve scripts, sieve/global the admin's (store/sieve_scripts.py)
        dkim/<domain>/       DKIM signing keys (mta/authn/keys.py)
        mta-sts/             MTA-STS policy cache (mta/authn/mtasts.py)
        tlsrpt/             TLS-RPT failure counts (mta/authn/tlsrpt.py)
        tls/                 self-signed or configured certificates; tls/acme: ACME account, certs
        run/                 this process's runtime files: listeners.json, private stamp

Renaming a place here moves it for every reader and writer at once; tests/store/
test_paths.py fails when a module spells one of these names after ``data_dir`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path


class DataDir:
    """Where each thing lives under one data dir (no I/O: paths only)."""

    __slots__ = ("root",)

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DataDir({str(self.root)!r})"

    def __fspath__(self) -> str:
        return str(self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataDir) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # -- the SQLite + Maildir backend

    @property
    def accounts_db(self) -> Path:
        """The SQLite account store."""
        return self.root / "accounts.db"

    @property
    def mail(self) -> Path:
        """Every user's Maildir: ``mail/<domain>/<local>``."""
        return self.root / "mail"

    def mailbox(self, local: str, domain: str) -> Path:
        """One user's Maildir (``local`` and ``domain`` already normalised and checked)."""
        return self.mail / domain / local

    def mailbox_index(self, local: str, domain: str) -> Path:
        """The index file of one user's Maildir: there once a server has opened it."""
        from mailtool.store.index import INDEX_FILE

        return self.mailbox(local, domain) / INDEX_FILE

    @property
    def queue(self) -> Path:
        """The spool."""
        return self.root / "queue"

    @property
    def queue_tmp(self) -> Path:
        """SMTP workers' spool files before the queue takes them (same file system as queue/)."""
        return self.queue / "tmp"

    @property
    def sieve(self) -> Path:
        """Users' Sieve scripts."""
        return self.root / "sieve"

    @property
    def sieve_global(self) -> Path:
        """The administrator's global Sieve scripts (RFC 6609 ``:global`` includes)."""
        return self.sieve / "global"

    @property
    def dkim(self) -> Path:
        """DKIM signing keys, one directory per domain."""
        return self.root / "dkim"

    @property
    def mta_sts(self) -> Path:
        """The MTA-STS policy cache (RFC 8461 §5)."""
        return self.root / "mta-sts"

    @property
    def tlsrpt(self) -> Path:
        """TLS-RPT failure counts waiting for the daily report (RFC 8460)."""
        return self.root / "tlsrpt"

    # -- local to every node, whatever the backend

    @property
    def tls(self) -> Path:
        """Certificates: the generated self-signed one, or ACME's."""
        return self.root / "tls"

    @property
    def self_signed_cert(self) -> Path:
        return self.tls / "selfsigned.crt"

    @property
    def acme(self) -> Path:
        """ACME account key, orders and certificates."""
        return self.tls / "acme"

    @property
    def run(self) -> Path:
        """This process's runtime files (not backed up)."""
        return self.root / "run"

    @property
    def private_stamp(self) -> Path:
        """Who the whole tree was last made private for (store/datadir.py)."""
        return self.run / "private"

    @property
    def listeners_file(self) -> Path:
        """The addresses serve bound (what ``mailtool probe`` and tests read)."""
        return self.run / "listeners.json"
