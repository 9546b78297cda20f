"""spamtest, spamtestplus and virustest (RFC 5235), fed by our scanners' verdicts.

Our scanners (:mod:`mailtool.mda.scanners`) put their verdict into the header
before the message is queued: ``X-Spam-Score`` and ``X-Spam-Status`` (with
``required=``, the junk threshold) from spamd, ``X-Virus-Scanned`` from clamd
and always ``X-Scan-Results``. Those headers are trusted only where our own
server put them: in the block above the second ``Received`` field (ours is
the first; the scanner strips copies a sender forged, and a message that a
server without a scanner let through carries them further down).

The RFC's scales:

* ``spamtest``: ``"0"`` not tested, ``"1"`` (certainly not spam) to ``"10"``
  (certainly spam). Our score is mapped linearly from 0 to twice the junk
  threshold: the threshold itself gives 6, the first value a filter should
  treat as spam; a negative score gives 1.
* ``spamtest :percent`` (spamtestplus, §3.2): ``"0"`` to ``"100"`` on the same
  line; ``"0"`` also when the message was not tested (§3.2 leaves no other value).
* ``virustest``: ``"0"`` not tested, ``"1"`` clean (clamd said so). Infected mail
  is refused at SMTP time (issue 8) and never reaches delivery, so 2-5 do not occur.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.ext_editheader import field_name, split_header
from mailtool.mda.sieve.message import MessageView, decode_value
from mailtool.mda.sieve.spec import COMPARE_GROUPS, COMPARE_TAGS, STRING, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

_SCANNER_FIELDS = ("x-spam-score", "x-spam-status", "x-virus-scanned", "x-scan-results")
_REQUIRED = re.compile(r"required=(-?[0-9]+(?:\.[0-9]+)?)")
#: the junk threshold when X-Spam-Status does not say (SpamAssassin's default)
DEFAULT_THRESHOLD = 5.0


@dataclass(frozen=True)
class ScanResult:
    """What our scanners said about one message (None: that scanner did not look)."""

    spam_score: float | None = None
    threshold: float = DEFAULT_THRESHOLD
    virus_clean: bool | None = None


def scan_result(message: MessageView) -> ScanResult:
    """Read our scanners' verdict from the trusted part of the header (module docstring)."""
    fields, _rest, _eol = split_header(message.raw)
    trusted: dict[str, str] = {}
    received = 0
    for field in fields:
        name = field_name(field)
        if name == "received":
            received += 1
            if received > 1:
                break
        elif name in _SCANNER_FIELDS and name not in trusted:
            trusted[name] = decode_value(field.partition(b":")[2].decode("utf-8", "replace"))
    if "x-scan-results" not in trusted:
        return ScanResult()
    score = threshold = None
    try:
        score = float(trusted.get("x-spam-score", ""))
    except ValueError:
        score = None
    if score is not None and not math.isfinite(score):
        score = None  # "nan", "inf": not a verdict (found by fuzzing)
    found = _REQUIRED.search(trusted.get("x-spam-status", ""))
    threshold = float(found.group(1)) if found else DEFAULT_THRESHOLD
    clean = True if "x-virus-scanned" in trusted else None
    return ScanResult(score, threshold if threshold > 0 else DEFAULT_THRESHOLD, clean)


def spam_percent(result: ScanResult) -> int:
    """0-100 on the line from score 0 to twice the threshold (RFC 5235 §3.2)."""
    if result.spam_score is None:
        return 0
    ratio = result.spam_score / (2 * result.threshold)
    return int(min(max(ratio, 0.0), 1.0) * 100 + 0.5)


def spam_value(result: ScanResult) -> int:
    """RFC 5235 §3.1: 0 not tested, else 1-10."""
    if result.spam_score is None:
        return 0
    return 1 + int(spam_percent(result) * 9 / 100 + 0.5)


def _result(interp: Interpreter) -> ScanResult:
    # the scanner's headers are read from the message as delivered, not as edited
    cached = interp.services.get("spamtest.result")
    if cached is None:
        cached = interp.services["spamtest.result"] = scan_result(interp.original_message)
    return cached


def _spamtest(interp: Interpreter, node: Node) -> bool:
    result = _result(interp)
    value = spam_percent(result) if node.tagged.get("percent") else spam_value(result)
    return interp.match(node, [str(value)], [interp.expand(node.positional[0])])


def _virustest(interp: Interpreter, node: Node) -> bool:
    clean = _result(interp).virus_clean
    value = 0 if clean is None else 1
    return interp.match(node, [str(value)], [interp.expand(node.positional[0])])


def _check_spamtest(node: Node, extensions: set[str]) -> None:
    # RFC 5235 §3.2: spamtestplus implies spamtest
    if "spamtest" not in extensions and "spamtestplus" not in extensions:
        raise SieveSyntaxError("'spamtest' needs require \"spamtest\"", node.line, node.column)


register(Spec("spamtest", "test", positional=(STRING,),
              tags={**COMPARE_TAGS, "percent": None}, groups=COMPARE_GROUPS,
              tag_extensions={"percent": "spamtestplus"}, run=_spamtest,
              check=_check_spamtest))  # fmt: skip
register(Spec("virustest", "test", positional=(STRING,), tags=COMPARE_TAGS,
              groups=COMPARE_GROUPS, extension="virustest", run=_virustest))  # fmt: skip
