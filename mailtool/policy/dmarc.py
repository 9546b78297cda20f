"""DMARC (RFC 7489): the record's tags and their values, policy discovery, the
organisational domain and identifier alignment.

Organisational domain (§3.2): the public suffix plus one label, the suffix
taken from the Public Suffix List as the ``publicsuffixlist`` package ships it
(updated with its releases; no suffix table lives here). A name the list does
not know ends in a one-label suffix (its ``*`` rule), so ``x.y.good.test``
belongs to ``good.test``.

Policy discovery (§6.6.3): ``_dmarc.<From domain>``, and when that has no
record, ``_dmarc.<organisational domain>``, whose ``sp=`` then applies.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from mailtool.dns import DNSError, Resolver
from mailtool.protocol.authrecords import parse_tags

from .problems import Problem, error, uri_problems, warning

POLICIES = ("none", "quarantine", "reject")
#: RFC 7489 §6.3 tags (and np=, DMARCbis); anything else is ignored by receivers
KNOWN_TAGS = frozenset(
    {"v", "p", "sp", "np", "pct", "ri", "fo", "rf", "adkim", "aspf", "rua", "ruf", "psd", "t"}
)
_VERSION = re.compile(r"^\s*v\s*=\s*DMARC1\s*(;|$)", re.I)
#: RFC 7489 §6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
_SIZE = re.compile(r"^\d+[kmgt]?$", re.I)
_FO = re.compile(r"^[01ds](?:\s*:\s*[01ds])*$", re.I)


@functools.cache
def _suffix_list() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the registered domain (public suffix + one label) of ``domain``;
    a public suffix itself (or a bare label) is its own organisational domain."""
    name = domain.lower().rstrip(".")
    if name.count(".") < 2:  # one or two labels: the name itself, whatever the list says
        return name
    return _suffix_list().privatesuffix(name) or name


async def suffix_list_for(*names: str) -> None:
    """Load the Public Suffix List in a thread if ``names`` need it (~0.2-1 s of CPU,
    once per process: never on the event loop, DESIGN principle 6)."""
    if _suffix_list.cache_info().currsize == 0 and any(n.count(".") >= 2 for n in names):
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop (the fuzz harness steps coroutines)
            _suffix_list()
            return
        await asyncio.to_thread(_suffix_list)


def aligned(a: str, b: str, mode: str) -> bool:
    """Identifier alignment (RFC 7489 §3.1): strict = same name, relaxed = same
    organisational domain."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if mode == "s":
        return a == b
    return organizational_domain(a) == organizational_domain(b)


def is_dmarc(text: str) -> bool:
    """RFC 7489 §6.6.3: records not starting with v=DMARC1 are discarded."""
    return bool(_VERSION.match(text))


@dataclass(frozen=True)
class DmarcRecord:
    domain: str  #: where it was found (the From domain or the organisational domain)
    tags: dict[str, str]
    text: str = ""
    problems: tuple[Problem, ...] = ()

    def policy_for(self, from_domain: str) -> str:
        """p=, or sp= for a subdomain found through the organisational domain (§6.3);
        an invalid value is ignored (none)."""
        p = self.tags.get("p", "").lower()
        if from_domain.lower().rstrip(".") != self.domain:
            sp = self.tags.get("sp", "").lower()
            p = sp if sp in POLICIES else p
        return p if p in POLICIES else "none"

    @property
    def pct(self) -> int:
        """The sampling rate (§6.3), 100 when absent or invalid."""
        pct = self.tags.get("pct", "100")
        # "²".isdigit() is True, int("²") is not
        return int(pct) if pct.isascii() and pct.isdigit() and int(pct) <= 100 else 100

    def report_uris(self, tag: str = "rua") -> list[str]:
        """The addresses of ``rua=``/``ruf=``, size limits removed (§6.4)."""
        out = []
        for uri in (u.strip() for u in self.tags.get(tag, "").split(",")):
            if uri.lower().startswith("mailto:"):
                out.append(uri[7:].split("!")[0])
        return [u for u in out if u]


def parse_record(domain: str, text: str) -> DmarcRecord:
    """One record's tags and every problem with them (RFC 7489 §6.3, §6.4)."""
    tags = parse_tags(text)
    return DmarcRecord(domain, tags, text, tuple(record_problems(text, tags)))


def record_problems(text: str, tags: dict[str, str] | None = None) -> list[Problem]:
    tags = parse_tags(text) if tags is None else tags
    out: list[Problem] = []
    first = text.split(";", 1)[0].replace(" ", "")
    if first.lower() != "v=dmarc1":
        out.append(error("v=DMARC1 must be the first tag", "RFC 7489 §6.4", "version"))
    p = tags.get("p")
    if p is None:
        out.append(error("no p= tag (required)", "RFC 7489 §6.3", "policy"))
    for tag in ("p", "sp", "np"):
        value = tags.get(tag)
        if value is not None and value.lower() not in POLICIES:
            out.append(
                error(
                    f"{tag}={value}: must be none, quarantine or reject", "RFC 7489 §6.3", "policy"
                )
            )
    pct = tags.get("pct")
    if pct is not None and not (pct.isascii() and pct.isdigit() and int(pct) <= 100):
        out.append(error(f"pct={pct}: must be an integer from 0 to 100", "RFC 7489 §6.3", "pct"))
    ri = tags.get("ri")
    if ri is not None and not (ri.isascii() and ri.isdigit() and int(ri) < 2**32):
        out.append(error(f"ri={ri}: must be a number of seconds", "RFC 7489 §6.3", "syntax"))
    fo = tags.get("fo")
    if fo is not None and not _FO.match(fo):
        out.append(
            error(f"fo={fo}: must be 0, 1, d or s, separated by ':'", "RFC 7489 §6.3", "syntax")
        )
    rf = tags.get("rf")
    if rf is not None and any(f.strip().lower() != "afrf" for f in rf.split(":")):
        out.append(error(f"rf={rf}: the only report format is afrf", "RFC 7489 §6.3", "syntax"))
    for tag in ("adkim", "aspf"):
        value = tags.get(tag)
        if value is not None and value.lower() not in ("r", "s"):
            out.append(error(f"{tag}={value}: must be r or s", "RFC 7489 §6.3", "alignment"))
    for tag in ("rua", "ruf"):
        if tags.get(tag) is not None:
            out += _uri_problems(tag, tags[tag])
    for tag in tags:
        if tag not in KNOWN_TAGS:
            out.append(warning(f"unknown tag {tag}= is ignored", "RFC 7489 §6.3", "syntax"))
    return out


def _uri_problems(tag: str, value: str) -> list[Problem]:
    """RFC 7489 §6.4: dmarc-uri = URI [ "!" size ]; receivers send reports to mailto:."""
    out = []
    for uri in (u.strip() for u in value.split(",")):
        base, bang, size = uri.partition("!")
        if bang and not _SIZE.match(size):
            out.append(
                error(
                    f"{tag}: size limit !{size} must be digits and k, m, g or t",
                    "RFC 7489 §6.4",
                    "uri",
                )
            )
        out += [
            Problem(p.severity, f"{tag}: {p.message}", p.rfc, p.code, p.fix)
            for p in uri_problems(base, ("mailto",), "RFC 7489 §6.4")
        ]
    return out


@dataclass(frozen=True)
class Discovery:
    """What policy discovery (RFC 7489 §6.6.3) found for ``domain``."""

    domain: str
    name: str  #: the _dmarc name the record (or the last attempt) is at
    record: DmarcRecord | None
    texts: tuple[str, ...] = ()  #: the DMARC records at ``name`` (several: none applies)
    problems: tuple[Problem, ...] = field(default=())

    @property
    def inherited(self) -> bool:
        return self.record is not None and self.record.domain != self.domain


async def discover(resolver: Resolver, from_domain: str) -> Discovery:
    """RFC 7489 §6.6.3 policy discovery; :class:`DNSError` propagates."""
    from_domain = from_domain.lower().rstrip(".")
    await suffix_list_for(from_domain)
    org = organizational_domain(from_domain)
    name = f"_dmarc.{from_domain}"
    for domain in dict.fromkeys((from_domain, org)):
        name = f"_dmarc.{domain}"
        texts = [t for t in await resolver.txt(name) if is_dmarc(t)]
        if len(texts) > 1:  # §6.6.3: several records count as none here
            problem = error(f"{len(texts)} DMARC records at {name}", "RFC 7489 §6.6.3", "records")
            return Discovery(from_domain, name, None, tuple(texts), (problem,))
        if not texts:
            continue
        record = parse_record(domain, texts[0])
        p = record.tags.get("p", "").lower()
        if p in POLICIES:
            return Discovery(from_domain, name, record, tuple(texts))
        if domain == org and "p" not in record.tags and "rua" in record.tags:
            # §6.6.3 step 6: a record with rua= but no p= at the org domain means p=none
            record = DmarcRecord(domain, {**record.tags, "p": "none"}, record.text, record.problems)
            return Discovery(from_domain, name, record, tuple(texts))
        # an invalid p= makes the record unusable (§6.6.3); say why
        return Discovery(from_domain, name, None, tuple(texts), record.problems)
    return Discovery(from_domain, name, None)


async def report_authorised(resolver: Resolver, domain: str, address: str) -> bool | None:
    """RFC 7489 §7.1: may reports about ``domain`` go to ``address``? Yes inside its
    organisational domain; elsewhere only when ``DOMAIN._report._dmarc.TARGET`` holds
    a v=DMARC1 record. None when DNS cannot tell."""
    target = address.rpartition("@")[2].lower().rstrip(".")
    await suffix_list_for(domain, target)
    if not target or organizational_domain(target) == organizational_domain(domain):
        return True
    try:
        texts = await resolver.txt(f"{domain}._report._dmarc.{target}")
    except DNSError as exc:
        return None if exc.temporary else False
    return any(is_dmarc(t) for t in texts)
