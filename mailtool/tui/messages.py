"""Messages the workers post up to the screens ("attributes down, messages up")."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mailtool.client.imap_parse import Envelope, Folder, MailboxInfo


@dataclass
class FoldersLoaded(Message):
    folders: list[Folder]
    status: dict[str, MailboxInfo]


@dataclass
class FolderLoaded(Message):
    """A folder's rows (uid, depth) are known; ``stale`` when they came from the cache."""

    folder: str
    rows: list[tuple[int, int]]
    envelopes: dict[int, Envelope]
    stale: bool = False


@dataclass
class EnvelopesLoaded(Message):
    folder: str
    envelopes: list[Envelope]


@dataclass
class MessageLoaded(Message):
    folder: str
    uid: int
    raw: bytes
    #: from the body cache: the server was out of reach
    cached: bool = False


@dataclass
class ConnectionState(Message):
    account: str
    state: str
    delay: float | None = None


@dataclass
class FolderChanged(Message):
    """Push: ``folder`` changed on the server ("*" = maybe all, after a reconnect)."""

    folder: str
