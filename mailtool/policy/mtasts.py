"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record (§3.1), the policy file
(§3.2) and what makes either invalid. (The ``mx:`` pattern match, §4.1, is the
certificate-name rule of :func:`mailtool.client.probe_tls.name_matches`.)

Fetching the file over HTTPS is I/O above this layer: the relay
(:mod:`mailtool.mta.authn.mtasts`) and diagnose each fetch it with
:func:`mailtool.client.probe_https.https_get` and hand the answer to
:func:`judge_response`, so both accept and refuse the same files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.dns import Resolver
from mailtool.protocol.authrecords import parse_tags

from .problems import Problem, error, warning

#: RFC 8461 §3.2: max_age is at most 31557600 seconds (a year)
MAX_AGE_LIMIT = 31557600
MODES = ("enforce", "testing", "none")
POLICY_PATH = "/.well-known/mta-sts.txt"
_VERSION = re.compile(r"^\s*v\s*=\s*STSv1\s*(;|$)")
#: RFC 8461 §3.1: sts-id = 1*32( ALPHA / DIGIT )
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
#: sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
#: RFC 8461 §3.2: sts-policy-term = name ":" *WSP value *WSP; field names as the TXT's
_FIELD = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$")
_MX_PATTERN = re.compile(
    r"^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}\.?$", re.I
)


def is_sts(text: str) -> bool:
    return bool(_VERSION.match(text))


@dataclass(frozen=True)
class StsRecord:
    """The TXT record at ``_mta-sts.DOMAIN``: its id, or why it is unusable."""

    name: str
    texts: tuple[str, ...]  #: the v=STSv1 records found
    id: str = ""  #: "" when there is no usable record
    problems: tuple[Problem, ...] = ()


def record_problems(text: str) -> list[Problem]:
    """RFC 8461 §3.1: v=STSv1 first, id= 1-32 letters and digits, extensions by name."""
    out = []
    tags = parse_tags(text)
    if text.split(";", 1)[0].replace(" ", "") != "v=STSv1":
        out.append(error("v=STSv1 must be the first field", "RFC 8461 §3.1", "version"))
    sts_id = tags.get("id")
    if sts_id is None:
        out.append(error("no id= field", "RFC 8461 §3.1", "id"))
    elif not _ID.match(sts_id):
        out.append(error(f"id={sts_id}: must be 1 to 32 letters and digits", "RFC 8461 §3.1", "id"))
    for name in tags:
        if name not in ("v", "id") and not _EXT_NAME.match(name):
            out.append(error(f"{name!r} is not a field name", "RFC 8461 §3.1", "syntax"))
    return out


async def discover(resolver: Resolver, domain: str) -> StsRecord:
    """The ``_mta-sts`` record of ``domain`` (RFC 8461 §3.1); DNSError propagates."""
    name = f"_mta-sts.{domain.lower().rstrip('.')}"
    texts = tuple(t for t in await resolver.txt(name) if is_sts(t))
    if len(texts) > 1:  # §3.1: several records = no policy
        problem = error(f"{len(texts)} v=STSv1 records", "RFC 8461 §3.1", "records")
        return StsRecord(name, texts, "", (problem,))
    if not texts:
        return StsRecord(name, ())
    problems = record_problems(texts[0])
    ok = not any(p.is_error for p in problems)
    sts_id = parse_tags(texts[0]).get("id", "") if ok else ""
    return StsRecord(name, texts, sts_id, tuple(problems))


# ------------------------------------------------------------------ the policy file (§3.2)


@dataclass(frozen=True)
class StsPolicyFile:
    """A parsed MTA-STS policy file and what is wrong with it (no error = valid)."""

    mode: str
    mx: tuple[str, ...]
    max_age: int
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not any(p.is_error for p in self.problems)


def parse_policy_file(text: str) -> StsPolicyFile:
    """RFC 8461 §3.2: ``name: value`` lines (LF or CRLF); version, mode, max_age once
    each, mx at least once unless the mode is none; unknown names are ignored."""
    rfc = "RFC 8461 §3.2"
    fields: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not line.strip():
            continue
        m = _FIELD.match(line)
        if not m:
            problems.append(error(f"line {number} {line[:60]!r} is not 'name: value'", rfc))
            continue
        fields.setdefault(m.group(1).lower(), []).append(m.group(2))
    for key in ("version", "mode", "max_age"):
        if len(fields.get(key, [])) > 1:
            problems.append(warning(f"{key} appears {len(fields[key])} times", rfc))
    version = (fields.get("version") or [""])[0]
    mode = (fields.get("mode") or [""])[0]
    age = (fields.get("max_age") or [""])[0]
    if version != "STSv1":
        problems.append(error(f"version {version or '(missing)'!r}: must be STSv1", rfc))
    if mode not in MODES:
        problems.append(
            error(f"mode {mode or '(missing)'!r}: must be enforce, testing or none", rfc)
        )
    digits = age.isascii() and age.isdigit() and len(age) <= 10  # 1*10DIGIT ("²".isdigit())
    if not digits or int(age) > MAX_AGE_LIMIT:
        problems.append(error(f"max_age {age or '(missing)'!r}: must be 0 to {MAX_AGE_LIMIT}", rfc))
    mx = tuple(fields.get("mx", []))
    if not mx and mode != "none":
        problems.append(error("no mx: line", rfc))
    for pattern in mx:
        if not _MX_PATTERN.match(pattern):
            problems.append(error(f"mx {pattern!r} is not a host name or *.name", rfc))
    return StsPolicyFile(mode, mx, int(age) if digits else 0, tuple(problems))


def judge_response(status: int, content_type: str, body: bytes) -> StsPolicyFile:
    """An HTTPS answer to ``GET /.well-known/mta-sts.txt`` as a policy (RFC 8461 §3.3):
    200 only (redirects are not followed), text/plain, then the file's grammar."""
    if status != 200:
        problem = error(f"HTTP status {status} (redirects are not followed)", "RFC 8461 §3.3")
        return StsPolicyFile("", (), 0, (problem,))
    if not content_type.lower().startswith("text/plain"):
        problem = error(f"Content-Type {content_type or '(none)'}", "RFC 8461 §3.2")
        return StsPolicyFile("", (), 0, (problem,))
    return parse_policy_file(body.decode("utf-8", "replace"))
