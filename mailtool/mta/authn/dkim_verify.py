"""DKIM verification (RFC 6376 §6), by dkimpy.

dkimpy asks DNS itself, synchronously. We give it a ``dnsfunc`` that answers
from a dictionary filled beforehand by :mod:`mailtool.dns` (every
``s._domainkey.d`` the signatures name, fetched in parallel), so the lookups
are asynchronous, use the configured resolvers (dnsmasq in tests) and a
temporary DNS failure is told apart from "no key" (RFC 6376 §6.1.2: temperror
versus permerror).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailtool.dns import DNSTemporaryError, Resolver
from mailtool.policy.dkim_key import UNUSABLE, parse_key_record

from . import headers

#: at most this many signatures are checked (RFC 6376 §6.1: verifiers may limit them)
MAX_SIGNATURES = 8
_quiet = logging.getLogger("mailtool.dkimpy")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass(frozen=True)
class DkimResult:
    """One signature's outcome (RFC 8601 §2.7.1 result names)."""

    result: str  # pass, fail, neutral, temperror, permerror
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    reason: str = ""
    #: the first 8 characters of b= (RFC 6008 header.b), telling signatures apart
    b: str = ""


class KeyTable:
    """Pre-fetched TXT records by name, and the names whose lookup failed temporarily."""

    def __init__(self) -> None:
        self.records: dict[str, bytes | None] = {}
        self.failed: set[str] = set()

    async def fetch(self, resolver: Resolver, names: set[str]) -> None:
        async def one(name: str) -> None:
            try:
                texts = await resolver.txt(name)
            except DNSTemporaryError:
                self.failed.add(name)
                return
            # RFC 6376 §3.6.2.2: several records at one name make the result undefined;
            # dkimpy takes the first, as we do
            self.records[name] = texts[0].encode() if texts else None

        await asyncio.gather(*(one(n) for n in names - set(self.records)))

    def dnsfunc(self) -> Callable[..., bytes | None]:
        import dkim

        def lookup(name: bytes | str, timeout: float = 5) -> bytes | None:
            # as headers.fields decodes the s= and d= the table was filled from: a name
            # with bytes that are not UTF-8 is looked up (and not found), not an exception
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
            key = text.rstrip(".").lower()
            if key in self.failed:
                raise dkim.DnsTimeoutError(f"{key}: temporary DNS failure")
            return self.records.get(key)

        return lookup


async def keys_for(resolver: Resolver, message: bytes, *names: str) -> KeyTable:
    table = KeyTable()
    await table.fetch(resolver, headers.signature_keys(message, names))
    return table


def _verify_all(message: bytes, table: KeyTable) -> list[DkimResult]:
    import dkim

    count = len(headers.values(message, "dkim-signature"))
    out: list[DkimResult] = []
    for idx in range(min(count, MAX_SIGNATURES)):
        d = None
        tags: dict[bytes, Any] = {}
        try:
            # inside the try: a header dkimpy cannot split raises MessageFormatError here
            d = dkim.DKIM(message, logger=_quiet, minkey=1024)
            prep = d.verify_headerprep(idx)
            tags = d.signature_fields or {}
            result, reason = _key_problem(table, tags)
            if not result:
                ok = bool(prep) and d.verify(idx=idx, dnsfunc=table.dnsfunc())
                result, reason = ("pass", "") if ok else ("fail", "signature did not verify")
        except Exception as exc:  # dkimpy on hostile input: see below
            tags = getattr(d, "signature_fields", None) or tags
            # RFC 8601 §2.7.1: a well-formed signature that does not match (body hash)
            # fails; one we cannot evaluate (bad syntax) is a permerror. dkimpy raises more
            # than DKIMException on what a sender writes (binascii.Error for a bad bh=,
            # found by fuzz_dkim): whatever it raises, that signature is a permerror
            result = "fail" if isinstance(exc, dkim.ValidationError) else "permerror"
            reason = str(exc) if isinstance(exc, dkim.DKIMException) else f"{exc!r}"
        out.append(
            DkimResult(
                result,
                _text(tags.get(b"d")).lower(),
                _text(tags.get(b"s")),
                _text(tags.get(b"a")),
                reason[:200],
                "".join(_text(tags.get(b"b")).split())[:8],
            )
        )
    return out


def _key_problem(table: KeyTable, tags: dict[bytes, Any]) -> tuple[str, str]:
    """("temperror"|"permerror", why) when the key cannot be had or used, else ("", "").

    dkimpy folds these into a plain False; RFC 6376 §6.1.2 tells them apart."""
    import dkim

    name = f"{_text(tags.get(b's'))}._domainkey.{_text(tags.get(b'd'))}".lower()
    if name in table.failed:
        return "temperror", f"key lookup for {name} failed"
    record = table.records.get(name)
    if record is None:
        return "permerror", f"no key at {name}"
    # RFC 6376 §3.6.1, §6.1.2: a key of another type, for another service, or whose h=
    # excludes sha256 is ignored: judged as diagnose judges it (mailtool.policy.dkim_key)
    text = record.decode("utf-8", "replace")
    unusable = [p for p in parse_key_record(text).problems if p.code in UNUSABLE]
    if unusable:
        return "permerror", f"unusable key at {name}: {unusable[0]}"
    try:
        dkim.evaluate_pk(name.encode(), record)
    except (dkim.DKIMException, ValueError) as exc:
        return "permerror", f"unusable key at {name}: {exc}"
    return "", ""


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return "" if value is None else str(value)


async def verify_dkim(resolver: Resolver, message: bytes) -> list[DkimResult]:
    """Every DKIM-Signature's result; empty for an unsigned message (dkim=none)."""
    table = await keys_for(resolver, message, "dkim-signature")
    return await asyncio.to_thread(_verify_all, message, table)
