"""EHLO: the service extensions a server announces (RFC 5321 §4.1.1.1).

``ehlo-line = ehlo-keyword *( SP ehlo-param )``; the first line of the reply is
the server's domain and an optional greeting. Keywords are case-insensitive and
kept upper-cased here. The old ``AUTH=LOGIN PLAIN`` form some servers still
send is read as ``AUTH``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from . import codes
from .reply import Reply, ReplySyntaxError

#: the most keywords one EHLO reply may announce (the reply's line cap bounds it too)
MAX_EXTENSIONS = 64

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# ehlo-param = 1*(%d33-126)
_PARAM = re.compile(r"[\x21-\x7e]+")


class KeywordMap(Mapping[str, tuple[str, ...]]):
    """Case-insensitive keyword -> parameters, the shape of both EHLO extensions
    and POP3 CAPA (RFC 2449 §5). Subclasses set the two syntax checks."""

    _key_syntax: re.Pattern[str] = _KEYWORD
    _param_syntax: re.Pattern[str] = _PARAM

    def __init__(self, items: Mapping[str, Iterable[str]] | None = None) -> None:
        self._items: dict[str, tuple[str, ...]] = {}
        for key, params in (items or {}).items():
            params = tuple(params)
            if not self._key_syntax.fullmatch(key) or not all(
                self._param_syntax.fullmatch(p) for p in params
            ):
                raise ValueError(f"bad keyword or parameter: {key!r} {params!r}")
            self._items[key.upper()] = params

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._items[key.upper()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.upper() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._items == other._items  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    def lines(self) -> list[str]:
        """One ``KEYWORD param param`` line per entry, in order."""
        return [" ".join((k, *v)) for k, v in self._items.items()]

    @classmethod
    def valid_line(cls, words: list[str]) -> bool:
        """Whether a received line (split in words) is well-formed for this map."""
        return bool(words) and bool(cls._key_syntax.fullmatch(words[0])) and all(
            cls._param_syntax.fullmatch(w) for w in words[1:]
        )


class Extensions(KeywordMap):
    """Keyword -> parameters, e.g. ``{"SIZE": ("10240000",), "AUTH": ("PLAIN",)}``."""

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
        if not Extensions.valid_line([key, *params]):
            continue
        items.setdefault(key.upper(), tuple(params))
    return Ehlo(domain, Extensions(items), greeting)
