"""Findings: what a check saw, in a stable shape a person and a script can read.

Each check is declared once as a :class:`Check` (stable id, family, title, why
it matters, RFC section, how to fix); running it produces :class:`Finding`
objects carrying the status and what was observed and expected on *this*
domain, plus a command that reproduces the observation. docs/diagnose.md is
generated from the catalogue (``python -m mailtool.diagnose.catalog``).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Any

from mailtool.dns import parse_nameserver


class Status(enum.StrEnum):
    """Ordered from good to bad; ``error`` = could not test, ``skip`` = not applicable."""

    PASS = "pass"
    INFO = "info"
    SKIP = "skip"
    WARN = "warn"
    ERROR = "error"
    FAIL = "fail"


STYLE = {
    Status.PASS: "green",
    Status.INFO: "cyan",
    Status.SKIP: "dim",
    Status.WARN: "yellow",
    Status.ERROR: "magenta",
    Status.FAIL: "bold red",
}

#: every check, by id (filled by Check())
CATALOGUE: dict[str, Check] = {}


@dataclass(frozen=True)
class Check:
    id: str  # "family.what[.detail]", stable: scripts and docs use it
    title: str
    why: str
    rfc: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        CATALOGUE[self.id] = self

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    def __call__(
        self,
        status: Status,
        observed: str = "",
        expected: str = "",
        *,
        subject: str = "",
        reproduce: str = "",
        fix: str | None = None,
    ) -> Finding:
        return Finding(self, status, observed, expected, subject, reproduce, fix)


@dataclass(frozen=True)
class Finding:
    check: Check
    status: Status
    observed: str = ""
    expected: str = ""
    subject: str = ""  # the host, address or record this is about
    reproduce: str = ""  # a dig / openssl s_client / swaks command
    fix_override: str | None = None

    @property
    def id(self) -> str:
        return self.check.id

    @property
    def family(self) -> str:
        return self.check.family

    @property
    def fix(self) -> str:
        return self.fix_override if self.fix_override is not None else self.check.fix

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "status": self.status.value,
            "title": self.check.title,
            "subject": self.subject,
            "observed": self.observed,
            "expected": self.expected,
            "why": self.check.why,
            "rfc": self.check.rfc,
            "fix": self.fix if self.status in (Status.WARN, Status.FAIL) else "",
            "reproduce": self.reproduce,
        }


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def dig(name: str, rdtype: str, nameservers: list[str] | tuple[str, ...] = ()) -> str:
    """The dig command that shows the same answer, against the same resolver."""
    query = f"-x {name}" if rdtype == "PTR" and is_ip(name) else f"{name} {rdtype}"
    if not nameservers:
        return f"dig {query}"
    host, port = parse_nameserver(nameservers[0])
    return f"dig @{host}" + (f" -p {port}" if port != 53 else "") + f" {query}"


def openssl(host: str, port: int, starttls: str | None, server_name: str | None) -> str:
    cmd = f"openssl s_client -connect {host}:{port}"
    if starttls:
        cmd += f" -starttls {starttls}"
    if server_name:
        cmd += f" -servername {server_name} -verify_hostname {server_name}"
    return cmd + " -showcerts </dev/null"


def swaks(host: str, port: int, to: str, frm: str = "", tls: bool = False) -> str:
    cmd = f"swaks --server {host}:{port} --to {to} --quit-after RCPT"
    if frm:
        cmd += f" --from {frm}"
    else:
        cmd += " --from '<>'"
    return cmd + (" --tls" if tls else "")
