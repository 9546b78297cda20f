"""Mailing-list headers: reply to the list, unsubscribe in one key.

RFC 2369 §3.4 List-Post: where posts to the list go (``<mailto:list@host>``,
or ``NO`` for a list nobody may post to); §3.2 List-Unsubscribe: one or more
``<URL>`` in order of preference. RFC 8058: when ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` is present, an HTTPS URL of List-Unsubscribe
takes a POST with exactly that body, and unsubscribes without further
interaction. That POST is made here over verified TLS, without cookies or
credentials (RFC 8058 §4), and redirects are not followed (§3.2: a redirected
POST is not the one-click request).
"""

from __future__ import annotations

import asyncio
import http.client
import re
import urllib.parse
from dataclasses import dataclass
from email.message import Message

from mailtool.client.compose import Draft, reply
from mailtool.errors import MailtoolError
from mailtool.net.tls import client_context

#: RFC 8058 §3.1: the only body a one-click POST carries
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
#: a list header is client-controlled: at most this many URLs are read from it
MAX_URLS = 10
MAX_HEADER = 4096


def header_urls(value: str | None) -> list[str]:
    """The ``<URL>`` entries of a List-* header (RFC 2369 §2), in order."""
    if not value:
        return []
    value = re.sub(r"\(.*?\)", "", str(value)[:MAX_HEADER])  # RFC 2369 §2: comments
    return [u.strip() for u in re.findall(r"<([^<>]*)>", value)][:MAX_URLS]


def list_post(msg: Message) -> str | None:
    """The list's posting address, or None (no List-Post, or ``NO``: posting not allowed)."""
    for url in header_urls(msg.get("List-Post")):
        if url.lower().startswith("mailto:"):
            return mailto(url).to or None
    return None


def list_reply(original: Message, me: str) -> Draft:
    """A reply addressed to the list (List-Post) instead of the author."""
    address = list_post(original)
    if address is None:
        raise MailtoolError("this message has no List-Post address (RFC 2369 §3.4)")
    draft = reply(original, me)
    draft.to = address
    return draft


def mailto(url: str) -> Draft:
    """A draft from a ``mailto:`` URL (RFC 6068 §2: to, subject, body, cc)."""
    parsed = urllib.parse.urlsplit(url)
    fields = urllib.parse.parse_qs(parsed.query)
    to = [urllib.parse.unquote(parsed.path)] if parsed.path else []
    to += fields.get("to", [])

    def one(name: str) -> str:
        return fields.get(name, [""])[0]

    return Draft(to=", ".join(a for a in to if a), cc=one("cc"), subject=one("subject"),
                 body=one("body"))


@dataclass(frozen=True)
class Unsubscribe:
    """What unsubscribing takes: ``kind`` is "one-click" (POST ``url``), "mailto"
    (send ``draft``) or "url" (only a web page to visit, shown to the user)."""

    kind: str
    url: str
    draft: Draft | None = None


def unsubscribe_plan(msg: Message) -> Unsubscribe | None:
    """The best way to unsubscribe, or None when the message offers none."""
    urls = header_urls(msg.get("List-Unsubscribe"))
    one_click = "list-unsubscribe=one-click" in str(msg.get("List-Unsubscribe-Post", "")).lower()
    https = [u for u in urls if u.lower().startswith("https://")]
    # RFC 8058 §3.1: one-click needs both the Post header and an HTTPS URI
    if one_click and https:
        return Unsubscribe("one-click", https[0])
    for url in urls:
        if url.lower().startswith("mailto:"):
            draft = mailto(url)
            if draft.to:
                draft.subject = draft.subject or "unsubscribe"
                return Unsubscribe("mailto", url, draft)
    web = [u for u in urls if u.lower().startswith(("https://", "http://"))]
    return Unsubscribe("url", web[0]) if web else None


def _post(url: str, cafile: str | None, timeout: float) -> int:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise MailtoolError(f"one-click unsubscribe needs an https URL, not {url!r}")
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                       context=client_context(cafile=cafile))
    try:
        path = parts.path or "/"
        conn.request("POST", path + (f"?{parts.query}" if parts.query else ""),
                     body=ONE_CLICK_BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


async def one_click(url: str, *, cafile: str | None = None, timeout: float = 30.0) -> int:
    """RFC 8058 §3.1 one-click POST; returns the HTTP status (2xx = done).
    TLS is verified (a certificate error is raised, never ignored)."""
    try:
        return await asyncio.to_thread(_post, url, cafile, timeout)
    except (OSError, http.client.HTTPException) as exc:
        host = urllib.parse.urlsplit(url).hostname
        raise MailtoolError(f"unsubscribe request to {host} failed: {exc}") from None
