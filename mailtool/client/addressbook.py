"""An address book for the composer's completion: a vCard file or a query command.

``[tui] address_book = "~/contacts.vcf"`` reads the FN and EMAIL properties of
a vCard file (RFC 6350; vCard 3.0 and 4.0 alike, folded lines unfolded per
§3.2). ``[tui] address_command = "khard email --parsable %s"`` runs a command
the way mutt's ``query_command`` does: ``%s`` is replaced by the typed prefix
(quoted, one argument: never run through a shell), and every output line
``EMAIL<TAB>NAME[<TAB>...]`` is a match (mutt's first line is a message; a line
without an address is skipped, so khard's and abook's outputs both work).

Bounds: the vCard file is read up to :data:`MAX_FILE` bytes; the command gets
:data:`COMMAND_TIMEOUT` seconds and its output is read up to
:data:`MAX_OUTPUT` bytes; at most ``limit`` matches are returned, and the
command's answers are kept for :data:`MAX_ANSWERS` prefixes.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from email.headerregistry import Address
from pathlib import Path

MAX_FILE = 8 * 1024 * 1024
MAX_OUTPUT = 1024 * 1024
COMMAND_TIMEOUT = 5.0
MAX_ANSWERS = 200


@dataclass(frozen=True)
class Contact:
    name: str
    email: str

    def __str__(self) -> str:
        try:
            return str(Address(self.name, addr_spec=self.email)) if self.name else self.email
        except (ValueError, IndexError):
            return self.email


def _unfold(text: str) -> list[str]:
    # RFC 6350 §3.2: a line starting with a space or tab continues the previous one
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def _value(line: str) -> str:
    value = line.split(":", 1)[1] if ":" in line else ""
    # RFC 6350 §3.4: backslash escapes in text values
    return re.sub(r"\\([,;:\\nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1),
                  value).strip()


def parse_vcards(text: str) -> list[Contact]:
    """Every (FN, EMAIL) pair of a vCard file; a card with several emails gives several."""
    contacts: list[Contact] = []
    name, emails = "", []
    for line in _unfold(text):
        prop = line.split(":", 1)[0].split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN":
            name, emails = "", []
        elif prop == "FN":
            name = _value(line)
        elif prop == "EMAIL":
            value = _value(line)
            if value.lower().startswith("mailto:"):
                value = value[7:]
            if "@" in value:
                emails.append(value)
        elif prop == "END":
            contacts += [Contact(name, e) for e in emails]
    return contacts


def _matches(contact: Contact, prefix: str) -> bool:
    prefix = prefix.lower()
    return (contact.email.lower().startswith(prefix)
            or any(w.lower().startswith(prefix) for w in [contact.name, *contact.name.split()]))


def parse_query_output(text: str) -> list[Contact]:
    """mutt query_command output: ``EMAIL<TAB>NAME[<TAB>OTHER]`` lines."""
    found = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 1 and "@" in fields[0] and " " not in fields[0].strip():
            found.append(Contact(fields[1].strip() if len(fields) > 1 else "",
                                 fields[0].strip()))
    return found


class AddressBook:
    """The user's contacts, from a vCard file and/or a query command."""

    def __init__(self, vcard: str = "", command: str = "") -> None:
        self.vcard = Path(vcard).expanduser() if vcard else None
        self.command = command
        self._cards: list[Contact] | None = None
        #: the command's answers per prefix (the composer asks at every key), bounded
        self._answers: dict[str, list[Contact]] = {}

    def _load_cards(self) -> list[Contact]:
        if self._cards is None:
            self._cards = []
            if self.vcard is not None:
                try:
                    with self.vcard.open("rb") as f:
                        data = f.read(MAX_FILE)
                except OSError:
                    return self._cards
                self._cards = parse_vcards(data.decode("utf-8", "replace"))
        return self._cards

    def _query(self, prefix: str) -> list[Contact]:
        if not self.command:
            return []
        if prefix not in self._answers:
            if len(self._answers) >= MAX_ANSWERS:
                self._answers.pop(next(iter(self._answers)))
            self._answers[prefix] = self._run(prefix)
        return self._answers[prefix]

    def _run(self, prefix: str) -> list[Contact]:
        argv = [a.replace("%s", prefix) for a in shlex.split(self.command)]
        if "%s" not in self.command:
            argv.append(prefix)
        try:
            done = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return []
        return parse_query_output(done.stdout[:MAX_OUTPUT].decode("utf-8", "replace"))

    def search(self, prefix: str, limit: int = 10) -> list[Contact]:
        """Contacts whose address, name or a word of the name starts with ``prefix``."""
        if not prefix:
            return []
        found: dict[str, Contact] = {}
        for c in [*(c for c in self._load_cards() if _matches(c, prefix)), *self._query(prefix)]:
            found.setdefault(c.email.lower(), c)
            if len(found) >= limit:
                break
        return list(found.values())

    def complete(self, prefix: str, limit: int = 10) -> list[str]:
        return [str(c) for c in self.search(prefix, limit)]


def address_book(app: object) -> AddressBook | None:
    """The address book ``[tui]`` configures (the app's ``tui_config``), or None."""
    tui = getattr(app, "tui_config", None)
    vcard, command = getattr(tui, "address_book", ""), getattr(tui, "address_command", "")
    return AddressBook(vcard, command) if vcard or command else None
