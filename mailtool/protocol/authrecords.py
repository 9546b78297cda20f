"""Text formats of the mail-authentication DNS records and files, parsed without I/O.

Shared by the checks that judge a domain's set-up (:mod:`mailtool.diagnose`)
and the ones that apply it to mail (:mod:`mailtool.mta.authn`), so both read
a record the same way:

* ``tag=value; tag=value`` lists: DKIM keys (RFC 6376 §3.2), DMARC (RFC 7489
  §6.4), MTA-STS and TLS-RPT TXT records (RFC 8461 §3.1, RFC 8460 §3);
* SPF records (RFC 7208 §4.5) and their terms (§4.6.1);
* the MTA-STS policy file (RFC 8461 §3.2) and what makes it invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: RFC 8461 §3.2: max_age is at most 31557600 seconds (a year)
STS_MAX_AGE_LIMIT = 31557600
STS_MODES = ("enforce", "testing", "none")


def parse_tags(record: str) -> dict[str, str]:
    """``tag=value; tag=value`` (RFC 6376 §3.2, RFC 7489 §6.4); names are case-insensitive,
    the first occurrence of a tag wins."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        if "=" in part:
            key, _, value = part.partition("=")
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def spf_records(texts: list[str]) -> list[str]:
    """RFC 7208 §4.5: records start with "v=spf1" followed by a space or end."""
    return [t for t in texts if re.match(r"^v=spf1( |$)", t, re.I)]


def parse_policy(text: str) -> dict[str, list[str]]:
    """MTA-STS policy ``key: value`` lines (RFC 8461 §3.2); ``mx`` may repeat."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip().lower(), []).append(value.strip())
    return out


@dataclass(frozen=True)
class StsPolicyFile:
    """A parsed MTA-STS policy file and what is wrong with it (empty = valid)."""

    mode: str
    mx: tuple[str, ...]
    max_age: int
    problems: tuple[str, ...]


def check_policy(text: str) -> StsPolicyFile:
    """Parse and validate a policy file body (RFC 8461 §3.2)."""
    policy = parse_policy(text)
    mode = (policy.get("mode") or [""])[0]
    age = (policy.get("max_age") or [""])[0]
    problems = []
    digits = age.isascii() and age.isdigit()  # RFC 8461 §3.2: 1*10DIGIT ("²".isdigit() too)
    if (policy.get("version") or [""])[0] != "STSv1":
        problems.append("version is not STSv1")
    if mode not in STS_MODES:
        problems.append(f"mode {mode!r}")
    if not digits or int(age) > STS_MAX_AGE_LIMIT:
        problems.append(f"max_age {age!r}")
    if not policy.get("mx") and mode != "none":
        problems.append("no mx: line")
    return StsPolicyFile(
        mode, tuple(policy.get("mx", [])), int(age) if digits else 0, tuple(problems)
    )
