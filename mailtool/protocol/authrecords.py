"""Text formats of the mail-authentication DNS records and files, parsed without I/O.

Shared by the checks that judge a domain's set-up (:mod:`mailtool.diagnose`)
and the ones that apply it to mail (:mod:`mailtool.mta.authn`), so both read
a record the same way:

* ``tag=value; tag=value`` lists: DKIM keys (RFC 6376 §3.2), DMARC (RFC 7489
  §6.4), MTA-STS and TLS-RPT TXT records (RFC 8461 §3.1, RFC 8460 §3);
* which TXT strings are SPF records (RFC 7208 §4.5).

What the values mean, and what is wrong with them, is :mod:`mailtool.policy`'s.
"""

from __future__ import annotations

import re


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
