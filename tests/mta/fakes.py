"""In-memory stand-ins for the account store, the queue and the mail store.

They let the SMTP session be driven over real sockets in-process (fast, and
able to fail on purpose) while the end-to-end tests use the real stores
through ``mailtool serve``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mailtool.errors import QuotaExceeded
from mailtool.protocol.sasl import scram_credentials


class FakeAccounts:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.domains: set[str] = set()
        self.users: dict[str, str] = {}
        self.aliases: dict[str, list[str]] = {}

    def add_user(self, address: str, password: str = "secret") -> None:
        self.domains.add(address.split("@")[1])
        self.users[address] = password

    def resolve(self, address: str) -> list[str] | None:
        local, _, domain = address.lower().rpartition("@")
        if domain not in self.domains:
            return None
        key = f"{local}@{domain}"
        if key in self.aliases:
            return list(self.aliases[key])
        return [key] if key in self.users else []

    def verify_password(self, address: str, password: str) -> bool:
        return self.users.get(address.lower()) == password

    def scram_credentials(self, address: str):
        pw = self.users.get(address.lower())
        return scram_credentials(pw, salt=b"0123456789abcdef", iterations=4096) if pw else None

    def addresses_of(self, user: str) -> set[str]:
        own = {user.lower()}
        own |= {a for a, t in self.aliases.items() if t == [user.lower()]}
        return own

    def maildir_path(self, address: str) -> Path:
        local, _, domain = address.partition("@")
        return self.root / domain / local


@dataclass
class RcptState:
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    next_attempt: float = 0.0


@dataclass
class Entry:
    sender: str
    recipients: dict[str, RcptState]
    local: set[str]
    message: bytes
    created: float = field(default_factory=time.time)

    def is_local(self, rcpt: str) -> bool:
        return rcpt in self.local


class FakeQueue:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.removed: list[str] = []
        self.fail_writes = False
        self.lock = threading.Lock()

    def enqueue(self, sender, recipients, message, *, id, local=()):
        if self.fail_writes:
            raise OSError(28, "No space left on device")
        with self.lock:
            self.entries[id] = Entry(
                sender, {r: RcptState() for r in recipients}, set(local), bytes(message)
            )
        return id

    def get(self, queue_id):
        return self.entries.get(queue_id)

    def read(self, queue_id):
        return self.entries[queue_id].message

    def mark(self, queue_id, rcpt, status, *, error=None, next_attempt=0.0):
        state = self.entries[queue_id].recipients[rcpt]
        if status == "pending" and error:
            state.attempts += 1
        state.status, state.error, state.next_attempt = status, error, next_attempt

    def remove(self, queue_id):
        with self.lock:
            self.entries.pop(queue_id, None)
            self.removed.append(queue_id)

    def ids(self):
        return list(self.entries)

    def due(self, now):
        return [
            i
            for i, e in list(self.entries.items())
            if any(s.status == "pending" and s.next_attempt <= now for s in e.recipients.values())
        ]


class FakeMail:
    def __init__(self) -> None:
        self.boxes: dict[str, list[bytes]] = {}
        self.full: set[str] = set()

    def deliver(self, address: str, data: bytes, *, folder: str = "INBOX") -> None:
        if address in self.full:
            raise QuotaExceeded(f"{address} is over quota")
        self.boxes.setdefault(address, []).append(bytes(data))
