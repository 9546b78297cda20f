"""Normalising and checking the addresses the store keys on.

The store keeps one spelling of every address: the domain in lower case (IDNA
A-labels for non-ASCII domains), the local part in lower case. Both end up as
directory names under ``mail/``, so they are checked here to be safe file
names as well as valid addresses: nothing that reaches outside the data dir.
"""

from __future__ import annotations

import re

from mailtool.errors import StoreError


class InvalidAddress(StoreError):
    """An address, domain or local part the store refuses (never a file-system surprise)."""


#: RFC 1035 §2.3.4 / RFC 5321 §4.5.3.1.2 limits
MAX_DOMAIN = 255
MAX_LOCAL = 64

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# RFC 5322 §3.2.3 atext without '/' (a path separator on disk); dot-atom shape,
# so no leading, trailing or doubled '.' and hence never '.' or '..'.
_ATEXT = r"a-z0-9!#$%&'*=?^_`{|}~+\-"
_LOCAL_RE = re.compile(rf"^[{_ATEXT}]+(?:\.[{_ATEXT}]+)*$")


def normalize_domain(domain: str) -> str:
    """Lower case, no trailing dot, IDNA A-labels; raise :class:`InvalidAddress` if not a domain."""
    text = domain.strip().rstrip(".").lower()
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidAddress(f"{domain!r} is not a valid domain name") from exc
    if len(text) > MAX_DOMAIN or not _DOMAIN_RE.match(text):
        raise InvalidAddress(f"{domain!r} is not a valid domain name")
    return text


def normalize_local(local: str) -> str:
    """Lower-cased local part in dot-atom form (RFC 5322 §3.4.1), no '/'."""
    text = local.lower()
    if len(text) > MAX_LOCAL or not _LOCAL_RE.match(text):
        raise InvalidAddress(
            f"{local!r} is not a local part the store accepts "
            "(letters, digits, !#$%&'*+-=?^_`{|}~ and single inner dots)"
        )
    return text


def split(address: str) -> tuple[str, str]:
    """``"Alice@Example.TEST"`` -> ``("alice", "example.test")``, normalised and checked."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        raise InvalidAddress(f"{address!r} is not an address of the form user@domain")
    return normalize_local(local), normalize_domain(domain)


def normalize(address: str) -> str:
    """The one spelling of ``address`` the store uses as a key."""
    local, domain = split(address)
    return f"{local}@{domain}"


def base_of(local: str) -> str | None:
    """``"alice+tag"`` -> ``"alice"`` (plus-addressing), None when there is no tag."""
    base, plus, _tag = local.partition("+")
    return base if plus and base else None
