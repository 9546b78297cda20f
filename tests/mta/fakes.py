"""In-memory stand-ins for the account store, the queue and the mail store.

They let the SMTP session be driven over real sockets in-process (fast, and
able to fail on purpose) while the end-to-end tests use the real stores
through ``mailtool serve``.
"""

from __future__ import annotations

import errno
import threading
from pathlib import Path

from mailtool.errors import QuotaExceeded, StoreUnavailable
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


class FakeMail:
    """``MailStore``'s delivery side: ``user(address).deliver(message, folder)``."""

    def __init__(self) -> None:
        self.boxes: dict[str, list[bytes]] = {}
        self.full: set[str] = set()
        self.fail_writes = False  #: every delivery fails as on a full disk
        #: this many deliveries fail as when the shared database is away (PostgreSQL)
        self.unavailable = 0
        self.lock = threading.Lock()

    def user(self, address: str) -> FakeUserMail:
        return FakeUserMail(self, address)


class FakeUserMail:
    def __init__(self, mail: FakeMail, address: str) -> None:
        self.mail, self.address = mail, address

    def deliver(self, message: bytes, folder: str = "INBOX") -> int:
        if self.address in self.mail.full:
            raise QuotaExceeded(f"{self.address} is over quota")
        if self.mail.fail_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        with self.mail.lock:
            if self.mail.unavailable:
                self.mail.unavailable -= 1
                raise StoreUnavailable("the database is not answering (test)")
            box = self.mail.boxes.setdefault(self.address, [])
            box.append(bytes(message))
            return len(box)
