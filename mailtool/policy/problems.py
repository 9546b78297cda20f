"""One fault in a record, with the RFC rule it breaks: the common currency of
the policy modules. diagnose turns each into a finding; the server logs them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    """``error``: receivers ignore the record (or the term) or fail the check;
    ``warning``: it works, but is deprecated, useless or risky."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    message: str  #: what is wrong, naming the offending text
    rfc: str  #: "RFC 7208 §5.5"
    code: str = ""  #: a short stable kind ("syntax", "lookups", ...) callers group by
    fix: str = ""  #: what to do, when the message alone does not say it

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.message} ({self.rfc})"


def error(message: str, rfc: str, code: str = "syntax", fix: str = "") -> Problem:
    return Problem(Severity.ERROR, message, rfc, code, fix)


def warning(message: str, rfc: str, code: str = "syntax", fix: str = "") -> Problem:
    return Problem(Severity.WARNING, message, rfc, code, fix)


def uri_problems(uris: str, schemes: tuple[str, ...], rfc: str) -> list[Problem]:
    """A comma-separated URI list (DMARC rua/ruf, TLS-RPT rua): each needs one of
    ``schemes`` and something after it."""
    out = []
    for uri in (u.strip() for u in uris.split(",")):
        scheme, sep, rest = uri.partition(":")
        if not sep or scheme.lower() not in schemes:
            allowed = " or ".join(f"{s}:" for s in schemes)
            fix = f"Write the scheme: {schemes[0]}:{uri}" if "@" in uri else ""
            out.append(error(f"{uri!r} is not a {allowed} URI", rfc, "uri", fix))
        elif not rest.strip() or (scheme.lower() == "mailto" and "@" not in rest):
            out.append(error(f"{uri!r} has no address", rfc, "uri"))
    return out
