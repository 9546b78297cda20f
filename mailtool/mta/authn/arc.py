"""ARC chain validation (RFC 8617 §5.2), by dkimpy, with keys from :mod:`mailtool.dns`.

An ARC chain tells us what an intermediary (a mailing list, a forwarder) saw
before it changed the message. We report the chain's validation status in
Authentication-Results (``arc=pass``); we do not (yet) let a trusted sealer
override a DMARC failure, so ARC never makes us accept more mail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mailtool.dns import Resolver

from . import headers
from .dkim_verify import KeyTable, _quiet, keys_for


@dataclass(frozen=True)
class ArcResult:
    """RFC 8617 §4.4 chain validation status: none, pass or fail."""

    result: str
    reason: str = ""


def _arc(message: bytes, table: KeyTable) -> ArcResult:
    import dkim

    try:
        cv, _results, reason = dkim.arc_verify(message, logger=_quiet, dnsfunc=table.dnsfunc())
    except Exception as exc:  # dkimpy raises more than DKIMException on hostile headers
        # a chain dkimpy cannot evaluate is not a valid chain (RFC 8617 §5.2)
        why = str(exc) if isinstance(exc, dkim.DKIMException) else repr(exc)
        return ArcResult("fail", why[:200])
    verdict = cv.decode() if isinstance(cv, bytes) else str(cv)
    return ArcResult(verdict.lower(), str(reason or "")[:200])


async def verify_arc(resolver: Resolver, message: bytes) -> ArcResult:
    """The ARC chain validation status (RFC 8617 §4.4: none, pass or fail)."""
    if not headers.values(message, "arc-seal"):
        return ArcResult("none")
    table = await keys_for(resolver, message, "arc-seal", "arc-message-signature")
    return await asyncio.to_thread(_arc, message, table)
