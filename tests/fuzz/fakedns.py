"""A resolver whose answers come from the fuzz input, and a driver for coroutines
that never wait: the SPF and DMARC code is asynchronous only because of DNS,
so with answers at hand one ``send(None)`` runs it to the end, with no event
loop per input (which would cost more than the code under test).

Which record a name gets is chosen by a CRC of the name (stable from run to
run, unlike ``hash``), so one input always gives the same answers.
"""

from __future__ import annotations

import zlib
from collections.abc import Coroutine
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar

from mailtool.dns import DNSTemporaryError
from mailtool.dns.resolver import Lookup

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """The coroutine's result; it must finish without suspending."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the coroutine waited for something the fake resolver does not give")


@dataclass(frozen=True)
class _Name:
    text: str

    def to_text(self, omit_final_dot: bool = False) -> str:
        return self.text


class FakeResolver:
    """TXT answers are the input's lines; names pick one (or none) by CRC. A, AAAA,
    MX and PTR answers are fixed, a void answer or a temporary failure by CRC too.
    ``txt_for`` pins a name's TXT answer to one line (the checked domain's record)."""

    ADDRESSES: ClassVar[dict[str, tuple[str, ...]]] = {
        "A": ("192.0.2.1", "198.51.100.3"),
        "AAAA": ("2001:db8::1",),
    }

    def __init__(self, lines: list[bytes], txt_for: dict[str, int] | None = None) -> None:
        self.lines = lines or [b""]
        self.txt_for = txt_for or {}
        self.queries = 0

    def _pick(self, name: str, rdtype: str) -> int:
        return zlib.crc32(f"{rdtype} {name.lower()}".encode())

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        self.queries += 1
        assert self.queries <= 200, "unbounded DNS queries"
        pick = self._pick(name, rdtype)
        if name.lower() not in self.txt_for and pick % 11 == 0:
            raise DNSTemporaryError(f"{name} {rdtype}: fake SERVFAIL", name=name, rdtype=rdtype)
        if name.lower() not in self.txt_for and pick % 5 == 0:
            return Lookup(name, rdtype, nxdomain=True)
        records: tuple[Any, ...]
        if rdtype == "TXT":
            index = self.txt_for.get(name.lower(), pick % len(self.lines))
            # a long line is split in 255-octet strings as in DNS (RFC 7208 §3.3)
            line = self.lines[index % len(self.lines)]
            strings = tuple(line[i : i + 255] for i in range(0, len(line), 255)) or (b"",)
            records = (SimpleNamespace(strings=strings),)
        elif rdtype in self.ADDRESSES:
            records = tuple(SimpleNamespace(address=a) for a in self.ADDRESSES[rdtype][: pick % 3])
        elif rdtype == "MX":
            records = tuple(
                SimpleNamespace(exchange=_Name(f"mx{i}.{name}")) for i in range(pick % 4)
            )
        elif rdtype == "PTR":
            records = tuple(SimpleNamespace(target=_Name(n)) for n in ("mail.example.test", name))
        else:
            records = ()
        return Lookup(name, rdtype, records)

    async def txt(self, name: str) -> list[str]:
        found = await self.lookup(name, "TXT")
        return [b"".join(r.strings).decode("utf-8", "replace") for r in found.records]
