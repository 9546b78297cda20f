"""``mailtool store migrate --to postgresql://...``: a data dir (SQLite + Maildir) into the
PostgreSQL backend, so a single server can become the first node of a cluster.

Order: the schema (``store init``), then domains, users (their argon2id and SCRAM hashes
as they are: nothing is re-hashed, every password keeps working), quotas, aliases, the
SCRAM mock-salt secret (a name that is nobody's keeps showing the same salt, RFC 5802
§9), every user's folders and messages (:mod:`.migrate_mail`: UIDs, UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ, flags, keywords, internal dates and MODSEQs kept, so a client in sync stays
in sync), subscriptions, IMAP METADATA, Sieve scripts (the active one, settings, the
global script and its ``:global`` includes), DKIM keys, and the queue (each entry with its
id, envelope and every recipient's state). Last, the check: per folder, messages, bytes
and the three numbers on both sides; totals for everything else.
:attr:`MigrationReport.ok` is False when anything differs (the CLI exits 1).

Resumable: everything is copied by key (address, alias source and target, folder and UID,
script name, DKIM selector, queue id) and what the target has already is skipped, so
running the command again after an interruption (^C, a lost connection, a full disk)
finishes the job; each message is its own committed transaction.

The source should not change meanwhile: stop ``serve`` on the data dir first (a running
server is reported as a warning; mail it accepts after the copy would not be in
PostgreSQL). The source is only read, except that each folder is synced first, as any
SELECT would: files another program dropped into the Maildir get their UIDs and are
copied too. Not copied: vacation and duplicate-tracking memories (at worst one more
vacation reply goes out) and the MTA-STS and TLS-RPT caches (fetched again; a TLS-RPT
report covering the day of the move may miss the hours before it).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailtool.errors import AlreadyExists, StoreError
from mailtool.protocol.sasl.scram import ScramCredentials
from mailtool.store.paths import DataDir
from mailtool.store.pg.migrate_mail import (
    FolderCheck,
    MailCounts,
    check_user_mail,
    copy_user_mail,
    folder_totals,
)

if TYPE_CHECKING:
    from mailtool.config import Config

#: IMAP METADATA entry trees (RFC 5464 §3.2): everything a user can have lives below these
METADATA_ROOTS = ("/private", "/shared")


class Progress:
    """What :func:`migrate` reports while it works; the CLI draws it (no-op here)."""

    def phase(self, name: str) -> None:
        """A new step starts (``"accounts"``, ``"mail"``, ``"queue"``, ``"check"``...)."""

    def start(self, messages: int, nbytes: int) -> None:
        """The mail copy starts: this many messages and bytes in all."""

    def advance(self, messages: int, nbytes: int) -> None:
        """This many more messages (and their bytes) are copied or were there already."""


@dataclass
class Copied:
    """One kind of thing: how many were copied now, how many the target had already."""

    copied: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Total:
    """One count on both sides (users, aliases, queue entries...)."""

    what: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class MigrationReport:
    """What :func:`migrate` did and found; ``ok`` when every count matches."""

    target: str
    applied: list[str] = field(default_factory=list)
    copied: dict[str, Copied] = field(default_factory=dict)
    mail: MailCounts = field(default_factory=MailCounts)
    folders: list[FolderCheck] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.folders) and all(t.ok for t in self.totals)

    def count(self, kind: str) -> Copied:
        return self.copied.setdefault(kind, Copied())

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "schema_applied": self.applied,
            "copied": {k: dataclasses.asdict(v) for k, v in self.copied.items()},
            "mail": dataclasses.asdict(self.mail),
            "totals": [{"what": t.what, "source": t.source, "target": t.target, "ok": t.ok}
                       for t in self.totals],
            "folders": [f.to_json() for f in self.folders],
            "warnings": self.warnings,
        }


# --------------------------------------------------------------------------- the source


def _user_rows(paths: DataDir) -> list[sqlite3.Row]:
    """The account rows with their hashes, read-only (the store's API never hands hashes
    out, on purpose)."""
    path = paths.accounts_db
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM users ORDER BY address").fetchall()
    finally:
        conn.close()


def _dkim_keys(keys: Any) -> list[tuple[str, str, bytes]]:
    """(domain, selector, PEM) of every DKIM key of a store."""
    return [(d, sel, pem) for d in keys.domains() for sel, pem in keys.private_keys(d)]


def _metadata(user_mail: Any) -> dict[str, list[tuple[str, bytes]]]:
    """mailbox ("" = the server's) -> every (entry, value) of one user (RFC 5464)."""
    out = {}
    for mailbox in ["", *user_mail.folders()]:
        values = user_mail.metadata.get(mailbox, METADATA_ROOTS, depth=-1)
        if values:
            out[mailbox] = values
    return out


# --------------------------------------------------------------------------- the copy


def target_config(config: Config, url: str, password_file: str = "") -> Config:
    """``config`` with ``[store] url`` (and ``password_file``) naming the target database."""
    store = dataclasses.replace(config.store, url=url, password_file=password_file)
    return dataclasses.replace(config, store=store)


def migrate(
    config: Config, url: str, *, password_file: str = "", progress: Progress | None = None
) -> MigrationReport:
    """Copy ``config``'s data dir into the PostgreSQL database at ``url`` (see the module
    docstring); returns the report, whose ``ok`` says whether every count matched.
    ``password_file``: the database password's file (else the URL's, $PGPASSWORD or
    ~/.pgpass, as libpq does)."""
    from mailtool.store.backends import Stores
    from mailtool.store.pg import schema
    from mailtool.store.pg.db import redacted

    if config.store.backend != "sqlite":
        raise StoreError("the source must be a data dir ([store] url empty): this config "
                         "already uses PostgreSQL")
    progress = progress or Progress()
    report = MigrationReport(redacted(url))
    paths = DataDir(config.data_path)
    if paths.listeners_file.exists():
        report.warnings.append(
            f"a server seems to run on {paths} ({paths.listeners_file.name} exists): mail "
            "it accepts after the copy is not in PostgreSQL; stop it and run this again"
        )
    source = Stores(config, application_name="mailtool-migrate")
    target = Stores(target_config(config, url, password_file), application_name="mailtool-migrate")
    try:
        progress.phase("schema")
        report.applied = [f"{m.version:03d}_{m.name}" for m in schema.init(target.database)]
        schema.check(target.database)
        progress.phase("accounts")
        _copy_accounts(paths, source.accounts, target.accounts, report)
        _copy_mock_secret(paths, target.database, report)
        users = [u.address for u in source.accounts.users()]
        progress.phase("mail")
        _copy_mail(users, source.mail, target.mail, report, progress)
        progress.phase("sieve")
        _copy_sieve(paths, users, source.sieve_scripts, target.sieve_scripts, report)
        progress.phase("metadata")
        _copy_metadata(users, source.mail, target.mail, report)
        progress.phase("dkim")
        _copy_dkim(paths, source.dkim_keys, target.dkim_keys, report)
        progress.phase("queue")
        _copy_queue(source.queue, target.queue, report)
        progress.phase("check")
        _check(paths, users, source, target, report)
    finally:
        target.close()
        source.close()
    return report


def _copy_accounts(paths: DataDir, source: Any, target: Any, report: MigrationReport) -> None:
    from mailtool.store.accounts import Quota

    have = set(target.domains())
    for domain in source.domains():
        if domain in have:
            report.count("domains").skipped += 1
        else:
            target.add_domain(domain)
            report.count("domains").copied += 1
    for row in _user_rows(paths):
        try:
            target.import_user(
                row["address"],
                password_hash=row["password_hash"],
                scram=ScramCredentials(bytes(row["scram_salt"]), row["scram_iterations"],
                                       bytes(row["scram_stored_key"]),
                                       bytes(row["scram_server_key"])),
                quota=Quota(row["quota_bytes"], row["quota_messages"]),
                created=row["created"],
            )
            report.count("users").copied += 1
        except AlreadyExists:
            report.count("users").skipped += 1
    existing = {a.source: set(a.targets) for a in target.aliases()}
    for alias in source.aliases():
        missing = [t for t in alias.targets if t not in existing.get(alias.source, set())]
        if missing:
            target.add_alias(alias.source, missing)
            report.count("aliases").copied += len(missing)
        report.count("aliases").skipped += len(alias.targets) - len(missing)


def _copy_mock_secret(paths: DataDir, database: Any, report: MigrationReport) -> None:
    """The SCRAM mock-salt secret: an unknown name keeps showing the salt it showed before
    the move (RFC 5802 §9: a changed salt tells an attacker the name was not real)."""
    from mailtool.store.accounts import MOCK_KEY_FILE
    from mailtool.store.pg.accounts import MOCK_SECRET

    path = paths.accounts_db.with_name(MOCK_KEY_FILE)  # as the SQLite store keeps it
    if not path.exists():
        return
    with database.transaction() as conn:
        conn.execute(
            "INSERT INTO cluster_secret (name, value) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (MOCK_SECRET, path.read_bytes()),
        )
    report.count("secrets").copied += 1


def _copy_mail(
    users: list[str], source: Any, target: Any, report: MigrationReport, progress: Progress
) -> None:
    sizes = {user: folder_totals(source.user(user, create=True)) for user in users}
    progress.start(sum(n for t in sizes.values() for _, n, _ in t),
                   sum(b for t in sizes.values() for _, _, b in t))
    for user in users:
        copy_user_mail(source.user(user), target, report.mail, progress.advance)


def _copy_sieve(
    paths: DataDir, users: list[str], source: Any, target: Any, report: MigrationReport
) -> None:
    done = report.count("sieve_scripts")
    for user in users:
        there = {s.name for s in target.list(user)}
        for script in source.list(user):
            if script.name in there and target.get(user, script.name) == source.get(
                user, script.name
            ):
                done.skipped += 1
                continue
            target.put(user, script.name, source.get(user, script.name))
            done.copied += 1
        active = source.active_name(user)
        if active != target.active_name(user):
            target.activate(user, active)
        for key, value in source.settings(user).items():
            if target.settings(user).get(key) != value:
                target.set_setting(user, key, value)
    text = source.global_script()
    if text is not None and target.global_script() != text:
        target.set_global(text)
        report.count("sieve_global").copied += 1
    # RFC 6609 :global includes, sieve/global/<name>.sieve in the data dir
    for path in sorted(paths.sieve_global.glob("*.sieve")):
        text = source.global_include(path.stem)
        if text is not None and target.global_include(path.stem) != text:
            target.set_global_include(path.stem, text)
            report.count("sieve_global").copied += 1


def _copy_metadata(users: list[str], source: Any, target: Any, report: MigrationReport) -> None:
    done = report.count("metadata_entries")
    for user in users:
        entries = _metadata(source.user(user))
        if not entries:
            continue
        target_user = target.user(user, create=True)
        for mailbox, values in entries.items():
            have = dict(target_user.metadata.get(mailbox, METADATA_ROOTS, depth=-1))
            missing = [(k, v) for k, v in values if have.get(k) != v]
            if missing:
                target_user.metadata.set(mailbox, missing)
            done.copied += len(missing)
            done.skipped += len(values) - len(missing)


def _copy_dkim(paths: DataDir, source: Any, target: Any, report: MigrationReport) -> None:
    done = report.count("dkim_keys")
    for domain, selector, pem in _dkim_keys(source):
        # the TXT record to publish, kept beside the key (store/dkim_keys.py's layout)
        pub = paths.dkim / domain / f"{selector}.pub"
        record = pub.read_text().strip() if pub.exists() else ""
        try:
            target.add(domain, selector, pem, record)
            done.copied += 1
        except AlreadyExists:
            done.skipped += 1


def _copy_queue(source: Any, target: Any, report: MigrationReport) -> None:
    done = report.count("queue_entries")
    have = set(target.ids())
    for entry_id in source.ids():
        if entry_id in have:
            done.skipped += 1
            continue
        entry = source.get(entry_id)
        with entry.open_message() as fh:
            target.import_entry(entry, fh)
        done.copied += 1


def _check(
    paths: DataDir, users: list[str], source: Any, target: Any, report: MigrationReport
) -> None:
    def total(what: str, src: int, dst: int) -> None:
        report.totals.append(Total(what, src, dst))

    total("domains", len(source.accounts.domains()), len(target.accounts.domains()))
    total("users", len(users), len(target.accounts.users()))
    total("alias targets", sum(len(a.targets) for a in source.accounts.aliases()),
          sum(len(a.targets) for a in target.accounts.aliases()))
    total("sieve scripts", sum(len(source.sieve_scripts.list(u)) for u in users),
          sum(len(target.sieve_scripts.list(u)) for u in users))
    total("dkim keys", len(_dkim_keys(source.dkim_keys)), len(_dkim_keys(target.dkim_keys)))
    total("queue entries", len(source.queue.ids()), len(target.queue.ids()))
    for user in users:
        report.folders.extend(check_user_mail(source.mail.user(user), target.mail))
