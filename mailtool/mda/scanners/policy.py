"""One scanning decision per message, from the ``[scan]`` config.

:meth:`Scanner.scan` runs clamd then spamd (each optional) and returns a
:class:`ScanVerdict`: accept (with headers to add), reject (``554 5.7.1`` for
a virus, ``550 5.7.1`` above ``reject_threshold``) or tempfail (``451 4.7.1``,
a scanner down and ``on_failure = "tempfail"``). Above ``junk_threshold`` the
verdict adds ``X-Spam-Flag: YES``, which the default global Sieve script
files into Junk.

:func:`add_headers` puts the verdict's headers on top of the message after
removing any the sender supplied, so nobody can forge a clean bill of health.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from mailtool.config import ScanConfig
from mailtool.mda.scanners import ScannerDown, clamd, spamd
from mailtool.net.log import log_event

ACCEPT, REJECT, TEMPFAIL = "accept", "reject", "tempfail"
#: headers we own: any copy that came with the message is removed
OWN_HEADERS = re.compile(rb"^(x-spam-[a-z-]*|x-virus-scanned|x-scan-results)\s*:", re.I)


@dataclass(frozen=True)
class ScanVerdict:
    action: str  # ACCEPT, REJECT or TEMPFAIL
    code: int = 250
    enhanced: str = "2.0.0"
    text: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    virus: str | None = None
    score: float | None = None
    symbols: tuple[str, ...] = ()
    junk: bool = False

    @property
    def reply(self) -> str:
        """The SMTP reply line for a refusal, e.g. ``554 5.7.1 virus found: Eicar``."""
        return f"{self.code} {self.enhanced} {self.text}"


class Scanner:
    """The ``[scan]`` policy; one per server, shared by every SMTP session."""

    def __init__(self, config: ScanConfig, hostname: str = "localhost") -> None:
        self.config = config
        self.hostname = hostname

    @property
    def enabled(self) -> bool:
        return bool(self.config.clamd or self.config.spamd)

    def _down(self, which: str, exc: ScannerDown, summary: list[str]) -> ScanVerdict | None:
        """451 under "tempfail"; under "accept-and-tag" None, and the summary says so."""
        log_event("scan.down", scanner=which, error=str(exc), level=logging.WARNING)
        if self.config.on_failure == "tempfail":
            return ScanVerdict(TEMPFAIL, 451, "4.7.1",
                               f"{which} scanner unavailable, try again later")  # fmt: skip
        summary.append(f"{which}=temperror")
        return None

    async def scan(self, message: bytes) -> ScanVerdict:
        cfg = self.config
        headers: list[tuple[str, str]] = []
        summary: list[str] = []
        if not self.enabled:
            return ScanVerdict(ACCEPT)
        if len(message) > cfg.max_size:
            summary.append("scan=skipped (too large)")
            headers.append(("X-Scan-Results", f"{self.hostname}; " + "; ".join(summary)))
            return ScanVerdict(ACCEPT, headers=headers)
        if cfg.clamd:
            try:
                virus = await clamd.scan(message, cfg.clamd, cfg.timeout)
            except ScannerDown as exc:
                down = self._down("clamav", exc, summary)
                if down:
                    return down
            else:
                if virus.infected:
                    log_event("scan.virus", signature=virus.signature)
                    return ScanVerdict(REJECT, 554, "5.7.1", f"virus found: {virus.signature}",
                                       virus=virus.signature)  # fmt: skip
                summary.append("clamav=clean")
                headers.append(("X-Virus-Scanned", f"clamav at {self.hostname}"))
        score = None
        symbols: tuple[str, ...] = ()
        junk = False
        if cfg.spamd:
            try:
                result = await spamd.scan(message, cfg.spamd, cfg.timeout)
            except ScannerDown as exc:
                down = self._down("spamd", exc, summary)
                if down:
                    return down
                headers.append(("X-Spam-Status", "Unknown, scanner unavailable"))
            else:
                score, symbols = result.score, result.symbols
                if score >= cfg.reject_threshold:
                    log_event("scan.spam_rejected", score=score)
                    return ScanVerdict(REJECT, 550, "5.7.1",
                                       f"message looks like spam (score {score:.1f})",
                                       score=score, symbols=symbols)  # fmt: skip
                junk = score >= cfg.junk_threshold
                headers += spam_headers(score, cfg.junk_threshold, symbols, junk)
                summary.append(f"spamd={'spam' if junk else 'ham'} score={score:.1f}")
        headers.append(("X-Scan-Results", f"{self.hostname}; " + "; ".join(summary)))
        return ScanVerdict(ACCEPT, headers=headers, score=score, symbols=symbols, junk=junk)


def spam_headers(
    score: float, threshold: float, symbols: tuple[str, ...], junk: bool
) -> list[tuple[str, str]]:
    """SpamAssassin's own header names, so existing user rules keep working."""
    tests = ",".join(symbols[:50]) or "none"
    return [
        ("X-Spam-Flag", "YES" if junk else "NO"),
        ("X-Spam-Score", f"{score:.1f}"),
        ("X-Spam-Level", "*" * max(0, min(int(score), 50))),
        ("X-Spam-Status", f"{'Yes' if junk else 'No'}, score={score:.1f} "
                          f"required={threshold:.1f} tests={tests}"),
    ]  # fmt: skip


def add_headers(message: bytes, headers: list[tuple[str, str]]) -> bytes:
    """Prepend ``headers`` after removing every header of ours already in the message."""
    end = message.find(b"\r\n\r\n")
    head, rest = (message[: end + 2], message[end + 2 :]) if end >= 0 else (message, b"")
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(OWN_HEADERS.match(line))
        if not dropping:
            kept.append(line)
    ours = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers)
    return ours + b"".join(kept) + rest
