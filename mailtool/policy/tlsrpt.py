"""SMTP TLS reporting (RFC 8460 §3): the ``_smtp._tls`` TXT record and its
report URIs. The relay mails reports to its ``mailto:`` addresses
(:mod:`mailtool.mta.authn.tlsrpt`); diagnose checks the record."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.dns import Resolver
from mailtool.protocol.authrecords import parse_tags

from .problems import Problem, error, uri_problems

_VERSION = re.compile(r"^\s*v\s*=\s*TLSRPTv1\s*(;|$)")


def is_tlsrpt(text: str) -> bool:
    return bool(_VERSION.match(text))


@dataclass(frozen=True)
class TlsRptRecord:
    name: str
    texts: tuple[str, ...]  #: the v=TLSRPTv1 records found
    rua: tuple[str, ...] = ()  #: the report URIs ("" when the record is unusable)
    problems: tuple[Problem, ...] = ()

    @property
    def mailto(self) -> list[str]:
        """The addresses of the ``mailto:`` URIs (headers after "?" dropped)."""
        return [u[7:].split("?")[0] for u in self.rua if u.lower().startswith("mailto:")]


def record_problems(text: str) -> list[Problem]:
    """RFC 8460 §3: v=TLSRPTv1 first; rua= required, a list of mailto: or https: URIs."""
    out = []
    if text.split(";", 1)[0].replace(" ", "") != "v=TLSRPTv1":
        out.append(error("v=TLSRPTv1 must be the first field", "RFC 8460 §3", "version"))
    rua = parse_tags(text).get("rua")
    if rua is None:
        out.append(error("no rua= field", "RFC 8460 §3", "uri"))
    else:
        out += uri_problems(rua, ("mailto", "https"), "RFC 8460 §3")
    return out


def parse_record(name: str, text: str) -> TlsRptRecord:
    problems = tuple(record_problems(text))
    rua = parse_tags(text).get("rua", "")
    uris = tuple(u.strip() for u in rua.split(",") if u.strip())
    if any(p.is_error for p in problems):
        uris = tuple(u for u in uris if not uri_problems(u, ("mailto", "https"), ""))
    return TlsRptRecord(name, (text,), uris, problems)


async def discover(resolver: Resolver, domain: str) -> TlsRptRecord:
    """The record at ``_smtp._tls.DOMAIN``; several records = none (RFC 8460 §3).
    DNSError propagates."""
    name = f"_smtp._tls.{domain.lower().rstrip('.')}"
    texts = tuple(t for t in await resolver.txt(name) if is_tlsrpt(t))
    if len(texts) > 1:
        problem = error(f"{len(texts)} v=TLSRPTv1 records", "RFC 8460 §3", "records")
        return TlsRptRecord(name, texts, (), (problem,))
    if not texts:
        return TlsRptRecord(name, ())
    return parse_record(name, texts[0])
