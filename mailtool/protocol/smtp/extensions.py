"""EHLO: the service extensions a server announces (RFC 5321 §4.1.1.1).

``ehlo-line = ehlo-keyword *( SP ehlo-param )``; the first line of the reply is
the server's domain and an optional greeting. Keywords are case-insensitive and
kept upper-cased here. The old ``AUTH=LOGIN PLAIN`` form some servers still
send is read as ``AUTH``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from . import codes
from .reply import Reply, ReplySyntaxError

#: the most keywords one EHLO reply may announce (the reply's line cap bounds it too)
MAX_EXTENSIONS = 64

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# ehlo-param = 1*(%d33-126)
_PARAM = re.compile(r"[\x21-\x7e]+")


class Extensions(Mapping[str, tuple[str, ...]]):
    """Keyword -> parameters, e.g. ``{"SIZE": ("10240000",), "AUTH": ("PLAIN",)}``."""

    def __init__(self, items: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._items: dict[str, tuple[str, ...]] = {}
        for key, params in (items or {}).items():
            if not _KEYWORD.fullmatch(key) or not all(_PARAM.fullmatch(p) for p in params):
                raise ValueError(f"bad EHLO keyword or parameter: {key} {params}")
            self._items[key.upper()] = tuple(params)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._items[key.upper()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.upper() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Extensions) and self._items == other._items

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"Extensions({self._items!r})"

    @property
    def size(self) -> int | None:
        """RFC 1870: the announced limit; None when SIZE is absent or has no
        number, 0 when the server says "no fixed limit"."""
        params = self._items.get("SIZE")
        if not params or not params[0].isdigit():
            return None
        return int(params[0])

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """RFC 4954 §3: the SASL mechanisms after AUTH, upper-cased."""
        return tuple(m.upper() for m in self._items.get("AUTH", ()))

    def lines(self) -> list[str]:
        return [" ".join((k, *v)) for k, v in self._items.items()]


@dataclass(frozen=True)
class Ehlo:
    """A whole EHLO reply: the server's domain, its greeting, its extensions."""

    domain: str
    extensions: Extensions = field(default_factory=Extensions)
    greeting: str = ""

    def reply(self) -> Reply:
        """The 250 multi-line reply a server sends."""
        first = f"{self.domain} {self.greeting}".rstrip()
        return Reply(codes.C250_OK, (first, *self.extensions.lines()))


def parse_ehlo(reply: Reply) -> Ehlo:
    """Read an EHLO reply (client side). Unknown or malformed extension lines are
    skipped rather than fatal: a client must interoperate with odd servers, and a
    keyword it cannot read is one it will not use."""
    if reply.code != codes.C250_OK:
        raise ReplySyntaxError(
            Reply(codes.C421_SERVICE_UNAVAILABLE, ("EHLO refused",), codes.ES_POLICY),
            f"EHLO answered {reply.code}",
        )
    domain, _, greeting = reply.lines[0].partition(" ")
    items: dict[str, tuple[str, ...]] = {}
    for line in reply.lines[1 : MAX_EXTENSIONS + 1]:
        words = line.split()
        if not words:
            continue
        key, *params = words
        if key.upper().startswith("AUTH="):  # pre-RFC 2554 form
            key, params = "AUTH", [key[5:], *params]
        if not _KEYWORD.fullmatch(key) or not all(_PARAM.fullmatch(p) for p in params):
            continue
        items.setdefault(key.upper(), tuple(params))
    return Ehlo(domain, Extensions(items), greeting)
