"""The ``Authentication-Results:`` header field (RFC 8601).

We add exactly one, with our host name as authserv-id, and remove any incoming
field that claims to be ours (RFC 8601 §5: otherwise a sender could forge our
verdict); fields of other authserv-ids are left alone (they may matter to a
later hop, and mean nothing to our users' filters, which look for ours).
"""

from __future__ import annotations

import re

from mailtool.policy.spf import SpfResult

from . import headers
from .arc import ArcResult
from .dkim_verify import DkimResult
from .dmarc import DmarcResult

_COMMENT = re.compile(r"\([^()]*\)")
_UNSAFE = re.compile(r"[^\x21-\x7e]")


def authserv_id(value: str) -> str:
    """The authserv-id of a field value: the first token, comments removed (§2.2)."""
    text = value
    for _ in range(3):  # nested comments, a few levels
        text = _COMMENT.sub(" ", text)
    first = text.split(";", 1)[0].split()  # empty for "; spf=pass" (no authserv-id at all)
    return first[0].lower() if first else ""


def forged_fields(message: bytes, ours: str) -> list[headers.Field]:
    """Incoming Authentication-Results fields that claim our authserv-id."""
    ours = ours.lower()
    return [
        f
        for f in headers.fields(message)
        if f.name == "authentication-results" and authserv_id(f.value) == ours
    ]


def _value(text: str) -> str:
    """A property value: a token, or a quoted-string when it is not one (§2.2)."""
    text = _UNSAFE.sub("", text)
    if text and re.fullmatch(r"[A-Za-z0-9.@_+-]+", text):
        return text
    return '"' + text.replace("\\", "").replace('"', "") + '"'


def _comment(text: str) -> str:
    clean = "".join(c for c in text if c.isprintable() and c not in "()\\")[:120]
    return f" ({clean})" if clean else ""


def build(
    hostname: str,
    *,
    spf: SpfResult,
    helo: SpfResult | None,
    mail_from: str,
    helo_name: str,
    dkim: list[DkimResult],
    dmarc: DmarcResult,
    arc: ArcResult,
) -> bytes:
    """The folded field, CRLF-terminated: one resinfo per method (§2.2)."""
    parts = []
    sender = mail_from or f"postmaster@{helo_name}"
    parts.append(f"spf={spf.result}{_comment(spf.reason)} smtp.mailfrom={_value(sender)}")
    if helo is not None:
        parts.append(f"spf={helo.result}{_comment(helo.reason)} smtp.helo={_value(helo_name)}")
    if not dkim:
        parts.append("dkim=none")
    for d in dkim:
        props = f" header.d={_value(d.domain)}" if d.domain else ""
        props += f" header.s={_value(d.selector)}" if d.selector else ""
        props += f" header.a={_value(d.algorithm)}" if d.algorithm else ""
        props += f" header.b={_value(d.b)}" if d.b else ""  # RFC 6008 §4
        parts.append(f"dkim={d.result}{_comment(d.reason)}{props}")
    from_prop = f" header.from={_value(dmarc.from_domain)}" if dmarc.from_domain else ""
    policy = f" policy.dmarc={dmarc.policy}" if dmarc.result == "fail" else ""
    parts.append(f"dmarc={dmarc.result}{_comment(dmarc.reason)}{from_prop}{policy}")
    parts.append(f"arc={arc.result}{_comment(arc.reason)}")
    return ("Authentication-Results: " + hostname + ";\r\n\t" + ";\r\n\t".join(parts) + "\r\n"
            ).encode("utf-8")
