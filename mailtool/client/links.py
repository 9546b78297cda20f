"""The links of a message, for the TUI's URL list (mutt's urlview, aerc's :open-link).

Plain-text parts are scanned for URLs; HTML parts are parsed with the stdlib
``html.parser`` for ``<a href>`` with their link text, because the reader's
HTML-to-text conversion (inscriptis) keeps the text and drops the address,
and the address is what the user needs to see before opening it.

Bounds (a message is client-controlled input): at most :data:`MAX_LINKS`
links, each at most :data:`MAX_URL` characters (longer ones are skipped, not
cut: a cut URL is a different URL), and at most :data:`MAX_SCAN` characters
of each part are scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser

MAX_LINKS = 500
MAX_URL = 2048
MAX_SCAN = 2_000_000
SCHEMES = ("http", "https", "ftp", "mailto")

# RFC 3986 §2: the characters a URI may hold; a trailing ".,;:!?)" is prose, not URL
_URL = re.compile(r"\b(?:https?://|ftp://|mailto:)[^\s<>\"'`{}|\\^\[\]]+", re.I)
_TRAILING = ".,;:!?)'\""


@dataclass(frozen=True)
class Link:
    """One link: its URL and the text it was shown as (empty for a bare URL)."""

    url: str
    text: str = ""

    @property
    def label(self) -> str:
        return f"{self.text}  <{self.url}>" if self.text and self.text != self.url else self.url


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # https://en.wikipedia.org/wiki/Foo_(bar): the parenthesis is the URL's
        url = url[:-1]
    return url


def text_links(text: str) -> list[Link]:
    """Bare URLs in plain text, in order of appearance."""
    return [Link(_trim(m.group(0))) for m in _URL.finditer(text[:MAX_SCAN])]


class _Anchors(HTMLParser):
    """Collects ``<a href>`` (with the text inside the anchor) and bare URLs in text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            self._href = href.strip() if href else None
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append(Link(self._href, " ".join("".join(self._text).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)
        else:
            self.links.extend(text_links(data))


def html_links(html: str) -> list[Link]:
    """``<a href>`` links (with their text) and bare URLs of an HTML document."""
    parser = _Anchors()
    parser.feed(html[:MAX_SCAN])
    parser.close()
    return parser.links


def _allowed(url: str) -> bool:
    scheme = url.split(":", 1)[0].lower()
    # only schemes an opener should be handed: never javascript:, data:, file:
    return scheme in SCHEMES and len(url) <= MAX_URL


def message_links(msg: Message) -> list[Link]:
    """Every link of the message's text/plain and text/html parts, first occurrence
    kept (an HTML link's text wins over the same URL bare), at most MAX_LINKS."""
    found: dict[str, Link] = {}
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:
            text = payload.decode("utf-8", "replace")
        links = html_links(text) if ctype == "text/html" else text_links(text)
        for link in links:
            if not _allowed(link.url):
                continue
            if link.url not in found or (link.text and not found[link.url].text):
                found[link.url] = link
            if len(found) >= MAX_LINKS:
                return list(found.values())
    return list(found.values())
