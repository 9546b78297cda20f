"""What servers, the MDA and the CLI may ask of the store: :class:`typing.Protocol` classes
with two implementations each (SQLite + Maildir in the data dir; PostgreSQL in
:mod:`mailtool.store.pg`), chosen once by :class:`~mailtool.store.backends.Stores`.

Callers import the protocols and value types from here and get the objects from a
``Stores`` (``ctx.accounts``, ``stores.mail`` ...), never a backend's class::

    from mailtool.store.interfaces import MailFolder, MessageInfo

Each protocol holds what callers use, no more: a method only one backend can offer
(a Maildir file's path, a spool file) is not here, and the code that still needs one
is listed in tests/test_layers.py's allowlist. tests/store/test_interfaces.py checks
that every implementation has every member, with compatible parameters.

The value types (dataclasses), the errors and the folder-naming rules both backends
share (INBOX, SPECIAL_USE, :func:`normalize_folder`...) stay in the modules that define
them and are re-exported here, so ``isinstance`` and equality work across backends.
``MaildropLock`` is :class:`mailtool.store.locks.Lock` (POP3's ``[IN-USE]``, RFC 2449).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Protocol

from mailtool.protocol.sasl import ScramCredentials
from mailtool.store.accounts import Alias, AliasLoop, Quota, User
from mailtool.store.index import (
    HEADER_FIELDS,
    UNDATED,
    FolderStatus,
    MessageInfo,
    MessageSummary,
)
from mailtool.store.locks import Lock as MaildropLock
from mailtool.store.mailbase import (
    MAX_HEADER,
    Change,
    Changes,
    StoreMode,
    StoreResult,
    Usage,
    read_header,
)
from mailtool.store.maildir import (
    INBOX,
    SPECIAL_USE,
    SYSTEM_FLAGS,
    InvalidFolderName,
    canonical_flag,
    normalize_folder,
)
from mailtool.store.metadata import (
    MetadataLimits,
    MetadataTooLarge,
    MetadataTooMany,
)
from mailtool.store.queue import QueueEntry, RecipientState, Status
from mailtool.store.sieve_scripts import ScriptInfo

__all__ = [
    "HEADER_FIELDS",
    "INBOX",
    "MAX_HEADER",
    "SPECIAL_USE",
    "SYSTEM_FLAGS",
    "UNDATED",
    "AccountStore",
    "Alias",
    "AliasLoop",
    "Change",
    "Changes",
    "FolderStatus",
    "InvalidFolderName",
    "MailFolder",
    "MailIndex",
    "MailStore",
    "MaildropLock",
    "MessageInfo",
    "MessageSummary",
    "MetadataLimits",
    "MetadataStore",
    "MetadataTooLarge",
    "MetadataTooMany",
    "QueueEntry",
    "QueueStore",
    "Quota",
    "RecipientState",
    "ScramCredentials",
    "ScriptInfo",
    "SieveScriptStore",
    "Status",
    "StoreMode",
    "StoreResult",
    "StoreServices",
    "Usage",
    "User",
    "UserMailbox",
    "VacationMemory",
    "Watcher",
    "canonical_flag",
    "normalize_folder",
    "read_header",
]

#: what :meth:`UserMailbox.watch` calls after each change (IMAP IDLE, NOTIFY)
Watcher = Callable[[Change], None]


# --------------------------------------------------------------------------- accounts


class AccountStore(Protocol):
    """Domains, users, aliases, password hashes and quotas (store/accounts.py on SQLite,
    pg/accounts.py on PostgreSQL). Addresses are keys in one spelling
    (:mod:`mailtool.store.address`); errors: NotFound, AlreadyExists, AliasLoop."""

    def add_domain(self, domain: str) -> str: ...
    def domains(self) -> list[str]: ...
    def remove_domain(self, domain: str, *, force: bool = False) -> None: ...
    def is_local_domain(self, domain: str) -> bool: ...
    def add_user(self, address: str, password: str, *, quota: Quota = ...) -> User: ...
    def get_user(self, address: str) -> User: ...
    def users(self, domain: str | None = None) -> list[User]: ...
    def set_password(self, address: str, password: str) -> None: ...
    def set_quota(self, address: str, quota: Quota) -> None: ...
    def remove_user(self, address: str, *, purge: bool = False) -> None: ...
    def add_alias(self, source: str, targets: Iterable[str]) -> Alias: ...
    def aliases(self, domain: str | None = None) -> list[Alias]: ...
    def remove_alias(self, source: str, targets: Iterable[str] = ()) -> None: ...
    def resolve(self, address: str) -> list[str] | None: ...
    def verify_password(self, address: str, password: str) -> bool: ...
    def scram_credentials(self, address: str) -> ScramCredentials | None: ...
    def scram_mock_salt(self, username: str) -> bytes: ...
    def addresses_of(self, user: str) -> set[str]: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------- mail


class MetadataStore(Protocol):
    """One user's IMAP METADATA entries (RFC 5464), kept with the mail."""

    def get(self, mailbox: str, entries: Iterable[str], depth: int = 0) -> list[tuple[str, bytes]]:
        ...

    def usage(self) -> tuple[int, int]: ...

    def set(
        self,
        mailbox: str,
        values: Sequence[tuple[str, bytes | None]],
        limits: MetadataLimits = ...,
    ) -> None: ...

    def rename_mailbox(self, old: str, new: str) -> None: ...
    def remove_mailbox(self, name: str) -> None: ...


class MailIndex(Protocol):
    """The per-user index's queries the IMAP side runs itself (SELECT snapshots, the
    SEARCH header cache, SORT keys, special-use, UID adoption on import)."""

    def counters(self, name: str) -> tuple[int, int, int]:
        """(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) of folder ``name``."""
        ...

    def special_uses(self) -> dict[str, tuple[str, ...]]: ...
    def set_special_use(self, name: str, uses: Iterable[str]) -> None: ...
    def summaries(self, name: str) -> list[MessageSummary]: ...
    def changes_since(self, name: str, modseq: int) -> tuple[list[MessageInfo], list[int]]: ...
    def header_cached_uids(self, name: str) -> list[int]: ...

    def put_headers(
        self, name: str, rows: Sequence[tuple[int, dict[str, tuple[str, ...]]]]
    ) -> None: ...

    def header_search(self, name: str, field: str, needle: str) -> list[int]: ...
    def sort_rows(self, name: str, *, sized: bool = True) -> list[tuple[Any, ...]]: ...
    def put_sort_fields(self, name: str, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def sort_field_uids(self, name: str) -> list[int]: ...

    def put_cached_fields(
        self,
        name: str,
        headers: Sequence[tuple[int, dict[str, tuple[str, ...]]]],
        sorts: Sequence[tuple[Any, ...]],
    ) -> None: ...

    def adopt_uids(self, name: str, uid: int, uidvalidity: int | None = None) -> bool: ...
    def envelopes(self, name: str, uids: Sequence[int], *, utf8: bool) -> dict[int, bytes]: ...

    def put_envelopes(
        self, name: str, rows: Sequence[tuple[int, bytes, bytes | None]]
    ) -> None: ...


class MailFolder(Protocol):
    """One folder of one user: what SELECT, FETCH, STORE, APPEND, COPY/MOVE, EXPUNGE,
    POP3 and import/export need. Every write is durable when it returns (DESIGN 1)."""

    name: str

    def status(self) -> FolderStatus: ...
    def messages(
        self, uids: Iterable[int] | None = None, *, sized: bool = True, dated: bool = True
    ) -> list[MessageInfo]: ...
    def message(self, uid: int) -> MessageInfo: ...
    def changes_since(self, modseq: int) -> Changes: ...
    def open(self, uid: int) -> BinaryIO: ...
    def open_message(self, info: MessageInfo) -> BinaryIO: ...
    def read_bytes(self, uid: int) -> bytes: ...
    def read_headers(self, infos: Iterable[MessageInfo]) -> Iterator[tuple[int, bytes | None]]: ...

    def append(
        self,
        message: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        *,
        size: int | None = None,
    ) -> MessageInfo: ...

    def append_file(
        self, path: str, flags: Iterable[str] = (), internal_date: float | None = None
    ) -> MessageInfo: ...

    def store(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: StoreMode = "add",
        *,
        unchanged_since: int | None = None,
    ) -> StoreResult: ...

    def claim_recent(self, *, peek: bool = False) -> range: ...
    def expunge(self, uids: Iterable[int] | None = None) -> list[int]: ...
    def copy(self, uids: Iterable[int], target: str) -> dict[int, int]: ...
    def move(self, uids: Iterable[int], target: str) -> dict[int, int]: ...
    def sync(self, *, force: bool = False, report: bool = True) -> Changes: ...


class UserMailbox(Protocol):
    """One user's folders, quota use, change notifications and METADATA."""

    address: str

    @property
    def index(self) -> MailIndex: ...
    @property
    def metadata(self) -> MetadataStore: ...

    def watch(self, callback: Watcher) -> Callable[[], None]: ...
    def maildrop_lock(self) -> MaildropLock | None: ...
    def sync_folders(self) -> list[str]: ...
    def tmp_path(self) -> str: ...
    def folders(self) -> list[str]: ...
    def folder(self, name: str) -> MailFolder: ...
    def create_folder(self, name: str) -> MailFolder: ...
    def delete_folder(self, name: str) -> None: ...
    def rename_folder(self, old: str, new: str) -> None: ...
    def subscribe(self, name: str, subscribed: bool = True) -> None: ...
    def subscriptions(self) -> list[str]: ...
    def usage(self) -> Usage: ...
    def check_quota(self, extra_messages: int, extra_bytes: int) -> None: ...

    def deliver(
        self,
        message: bytes | BinaryIO,
        folder: str = ...,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        size: int | None = None,
    ) -> int: ...


class MailStore(Protocol):
    """Every user's mail; one instance per process (in-process watchers share it)."""

    @property
    def accounts(self) -> AccountStore | None: ...

    def user(self, address: str, *, create: bool = False) -> UserMailbox: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------- queue


class QueueStore(Protocol):
    """The spool: every accepted message until it is delivered or bounced. ``enqueue``
    and ``mark`` are durable when they return (fsync, or COMMIT)."""

    def enqueue(
        self,
        sender: str,
        recipients: list[str],
        message: bytes | BinaryIO,
        *,
        metadata: dict[str, Any] | None = None,
        states: Iterable[RecipientState] = (),
    ) -> QueueEntry: ...

    def get(self, entry_id: str) -> QueueEntry: ...
    def ids(self) -> list[str]: ...
    def list(self) -> list[QueueEntry]: ...
    def due(self, now: float | None = None) -> list[QueueEntry]: ...

    def mark(
        self,
        entry_id: str,
        recipient: str,
        status: Status,
        *,
        error: str | None = None,
        next_attempt: float | None = None,
    ) -> QueueEntry: ...

    def reschedule(
        self, entry_id: str, *, next_attempt: float | None = None, fail: str | None = None
    ) -> QueueEntry: ...

    def update_metadata(self, entry_id: str, **values: Any) -> QueueEntry: ...
    def remove(self, entry_id: str, *, force: bool = False) -> None: ...
    def delivering(self, addresses: Iterable[str]) -> AbstractContextManager[None]: ...
    def interrupted_deliveries(self) -> list[str]: ...
    def recover(self) -> list[str]: ...


# --------------------------------------------------------------------------- sieve


class VacationMemory(Protocol):
    """RFC 5230 §4.2: whom a vacation reply went to, and when."""

    def should_reply(self, sender: str, handle: str, days: int, now: float) -> bool: ...


class SieveScriptStore(Protocol):
    """Users' Sieve scripts (RFC 5228), the active one, settings, the global script
    (RFC 6609); what ManageSieve, the MDA and ``mailtool sieve`` use."""

    def list(self, user: str) -> list[ScriptInfo]: ...
    def exists(self, user: str, name: str) -> bool: ...
    def get(self, user: str, name: str) -> str: ...
    def put(self, user: str, name: str, text: str) -> None: ...
    def delete(self, user: str, name: str) -> None: ...
    def rename(self, user: str, old: str, new: str) -> None: ...
    def activate(self, user: str, name: str | None) -> None: ...
    def active_name(self, user: str) -> str | None: ...
    def active_script(self, user: str) -> str | None: ...
    def user_filters(self, user: str) -> tuple[str | None, dict[str, object]]: ...
    def usage(self, user: str) -> tuple[int, int]: ...
    def global_script(self) -> str | None: ...
    def set_global(self, text: str) -> None: ...
    def remove_global(self) -> bool: ...
    def settings(self, user: str) -> dict[str, object]: ...
    def set_setting(self, user: str, key: str, value: object) -> None: ...
    def vacation_memory(self, user: str) -> VacationMemory: ...


# --------------------------------------------------------------------------- all of them


class StoreServices(Protocol):
    """The stores of one process (:class:`~mailtool.store.backends.Stores` on either
    backend; tests hand a server context fakes with these attributes)."""

    @property
    def accounts(self) -> AccountStore: ...
    @property
    def mail(self) -> MailStore: ...
    @property
    def queue(self) -> QueueStore: ...
    @property
    def sieve_scripts(self) -> SieveScriptStore: ...
    @property
    def dkim_keys(self) -> Any: ...  # DkimKeyFiles or PgDkimKeys (mta/authn/keys.py)
    @property
    def mtasts_cache(self) -> Any: ...  # the relay's MTA-STS policies (mta/authn/mtasts.py)
    @property
    def tlsrpt_log(self) -> Any: ...  # the relay's TLS-RPT attempts (mta/authn/tlsrpt.py)
