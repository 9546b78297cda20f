"""SPF: RFC 7208 record syntax (§12 ABNF) and ``check_host()`` (§4), with a trace.

Results are the RFC's seven (§2.6): none, neutral, pass, fail, softfail,
temperror, permerror. Limits (§4.6.4): 10 terms that cause DNS lookups
(include, a, mx, ptr, exists, redirect) per evaluation, includes counted;
2 "void" lookups (NXDOMAIN or no answer), the address lookups of ``mx`` and
``ptr`` included; 10 MX names per ``mx``, 10 PTR names per ``ptr``. Macros
(§7) are expanded, except ``%{p}`` which expands to "unknown" (§7.3 allows
it). The ``exp=`` explanation is not fetched: we never show it to anyone.

One evaluator serves both users: the server calls :func:`check_host` (stop at
the first match or error, as receivers do); diagnose calls :func:`walk`, the
same evaluation for a client that no mechanism but ``all`` matches, which
goes on past errors and returns every :class:`Problem` with the lookup trace.
"""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from mailtool.dns import DNSError, DNSTemporaryError, Resolver, reverse_name
from mailtool.protocol.authrecords import spf_records

from .problems import Problem, error
from .spf_syntax import (
    LOOKUP_MECHANISMS,
    PermError,
    TempError,
    Term,
    parse_term,
    record_problems,
    valid_domain,
)

__all__ = [
    "MAX_LOOKUPS",
    "MAX_VOID",
    "WALK_LOOKUP_BOUND",
    "PermError",
    "SpfResult",
    "Step",
    "Term",
    "check_helo",
    "check_host",
    "check_mail_from",
    "parse_term",
    "record_problems",
    "valid_domain",
    "walk",
]

MAX_LOOKUPS = 10
MAX_VOID = 2
MAX_MX = 10
MAX_PTR = 10
#: walk() counts but no longer asks past this many lookups (a bound on diagnose's work)
WALK_LOOKUP_BOUND = 40
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_MACRO = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.I)
#: the client address walk() evaluates for: TEST-NET-1 never appears in a real record
WALK_IP = "192.0.2.255"


@dataclass(frozen=True)
class Step:
    """One thing the evaluation did: a term of a record at ``domain``."""

    domain: str
    term: str
    lookups: int  #: DNS-querying terms counted so far (§4.6.4)
    detail: str = ""


@dataclass(frozen=True)
class SpfResult:
    """``result`` of ``check_host`` for ``domain``, why (for the A-R comment), and
    how it was reached."""

    result: str
    domain: str
    reason: str = ""
    record: str = ""  #: the top record evaluated ("" when none)
    trace: tuple[Step, ...] = ()
    lookups: int = 0
    voids: int = 0
    problems: tuple[tuple[str, Problem], ...] = ()  #: (domain, problem), walk() only


@dataclass
class _State:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    helo: str
    resolver: Resolver
    walking: bool = False  #: diagnose: record errors and go on
    lookups: int = 0
    voids: int = 0
    seen: list[str] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    records: dict[str, str] = field(default_factory=dict)

    def problem(self, domain: str, p: Problem) -> None:
        """Raise (enforcing) or note and go on (walking)."""
        if not self.walking:
            raise PermError(str(p))
        if (domain, p) not in self.problems:
            self.problems.append((domain, p))

    def result(self, result: str, domain: str, reason: str) -> SpfResult:
        return SpfResult(
            result,
            domain,
            reason,
            self.records.get(domain, ""),
            tuple(self.trace),
            self.lookups,
            self.voids,
            tuple(self.problems),
        )

    def count_lookup(self, domain: str) -> None:
        self.lookups += 1
        if self.lookups == MAX_LOOKUPS + 1:
            self.problem(
                domain,
                error(f"more than {MAX_LOOKUPS} DNS-querying terms", "RFC 7208 §4.6.4", "lookups"),
            )

    def count_void(self, domain: str, empty: bool) -> None:
        if empty:
            self.voids += 1
            if self.voids == MAX_VOID + 1:
                self.problem(
                    domain,
                    error(f"more than {MAX_VOID} void lookups", "RFC 7208 §4.6.4", "void"),
                )


async def _lookup(state: _State, domain: str, name: str, rdtype: str) -> list[object]:
    try:
        found = await state.resolver.lookup(name, rdtype)
    except DNSTemporaryError as exc:
        raise TempError(str(exc)) from None
    except DNSError as exc:
        raise PermError(str(exc)) from None
    state.count_void(domain, found.void)
    return list(found.records)


async def _addresses(state: _State, domain: str, name: str) -> list[str]:
    rdtype = "A" if state.ip.version == 4 else "AAAA"
    return [r.address for r in await _lookup(state, domain, name, rdtype)]  # type: ignore[attr-defined]


def _in_network(ip: ipaddress._BaseAddress, address: str, cidr4: int, cidr6: int) -> bool:
    try:
        net = ipaddress.ip_network(f"{address}/{cidr4 if ':' not in address else cidr6}", False)
    except ValueError:
        return False
    return ip.version == net.version and ip in net


# ------------------------------------------------------------------ macros (§7)


def _ip_macro(ip: ipaddress._BaseAddress) -> str:
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", ""))  # RFC 7208 §7.3: nibbles, dot-separated


def expand(text: str, state: _State, domain: str, *, exp: bool = False) -> str:
    """RFC 7208 §7: the macro-string ``text`` with its macros replaced."""
    local, _, sender_domain = state.sender.rpartition("@")

    def one(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "%%":
            return "%"
        if whole == "%_":
            return " "
        if whole == "%-":
            return "%20"
        letter, digits, reverse, delims = m.group(1), m.group(2), m.group(3), m.group(4)
        key = letter.lower()
        if key in "crt" and not exp:
            raise PermError(f"macro %{{{letter}}} is only allowed in exp= (RFC 7208 §7.2)")
        value = {
            "s": state.sender,
            "l": local or "postmaster",
            "o": sender_domain,
            "d": domain,
            "i": _ip_macro(state.ip),
            "p": "unknown",
            "v": "in-addr" if state.ip.version == 4 else "ip6",
            "h": state.helo,
            "c": str(state.ip),
            "r": "unknown",
            "t": str(int(time.time())),
        }[key]
        parts = re.split("[" + re.escape(delims or ".") + "]", value)
        if reverse:
            parts.reverse()
        if digits:
            if int(digits) == 0:
                raise PermError("macro with 0 labels (RFC 7208 §7.1)")
            parts = parts[-int(digits) :]
        out = ".".join(parts)
        if letter.isupper():  # RFC 7208 §7.3: upper-case macros are URL-escaped
            out = urllib.parse.quote(out, safe="")
        return out

    if re.search(r"%(?![{%_-])", text):
        raise PermError(f"bad macro in {text!r} (RFC 7208 §7.1)")
    return _MACRO.sub(one, text)


def _target(arg: str | None, state: _State, domain: str) -> str:
    """A domain-spec after expansion, shortened to 253 octets from the left (§7.3)."""
    name = expand(arg, state, domain).rstrip(".") if arg else domain
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    if not name or not valid_domain(name):
        raise PermError(f"invalid domain {name!r} (RFC 7208 §4.8)")
    return name


# ------------------------------------------------------------------ evaluation (§4, §5)


async def _record(state: _State, domain: str) -> str | None:
    try:
        found = await state.resolver.lookup(domain, "TXT")
    except DNSTemporaryError as exc:
        raise TempError(str(exc)) from None
    texts = [b"".join(r.strings).decode("utf-8", "replace") for r in found.records]
    records = spf_records(texts)
    if len(records) > 1:
        state.problem(
            domain,
            error(f"{domain} has {len(records)} SPF records", "RFC 7208 §4.5", "records"),
        )
        return None
    if records:
        state.records[domain] = records[0]
    return records[0] if records else None


async def _mechanism(state: _State, term: Term, domain: str) -> bool:
    """Does the mechanism match the client IP? (RFC 7208 §5)"""
    ip, name = state.ip, term.name
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        net = ipaddress.ip_network(f"{term.arg}/{term.cidr}", strict=False)
        return ip.version == net.version and ip in net
    state.count_lookup(domain)  # the rest cause DNS lookups
    if state.walking and state.lookups > WALK_LOOKUP_BOUND:
        return False  # counted, not asked: diagnose's work stays bounded
    cidr4 = term.cidr4 if term.cidr4 is not None else 32
    cidr6 = term.cidr6 if term.cidr6 is not None else 128
    if name == "include":
        target = _target(term.arg, state, domain)
        result = await _check(state, target)
        if result == "temperror":
            raise TempError(f"include:{target}")
        if result == "none":
            # RFC 7208 §5.2: an included domain without SPF is a permanent error
            state.problem(
                domain, error(f"include:{target} has no SPF record", "RFC 7208 §5.2", "include")
            )
        if result in ("permerror", "none"):
            if not state.walking:
                raise PermError(f"include:{target} gave {result}")
            return False  # walking: the cause is already noted where it is
        return result == "pass"
    target = _target(term.arg, state, domain)
    if name == "a":
        addrs = await _addresses(state, domain, target)
        return any(_in_network(ip, a, cidr4, cidr6) for a in addrs)
    if name == "mx":
        hosts = [
            r.exchange.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
            for r in await _lookup(state, domain, target, "MX")
        ]
        if len(hosts) > MAX_MX:
            state.problem(
                domain,
                error(f"{target} has more than {MAX_MX} MX records", "RFC 7208 §4.6.4", "lookups"),
            )
            hosts = hosts[:MAX_MX]
        for host in hosts:
            if host in ("", "."):
                continue
            # RFC 7208 §4.6.4: each MX name's address lookup counts toward the void limit
            if any(_in_network(ip, a, cidr4, cidr6) for a in await _addresses(state, domain, host)):
                return True
        return False
    if name == "exists":
        # RFC 7208 §5.7: an A query, whatever the IP version of the client
        return bool(await _lookup(state, domain, target, "A"))
    # ptr
    names = [
        r.target.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
        for r in await _lookup(state, domain, reverse_name(str(ip)), "PTR")
    ]
    wanted = target.lower()
    for host in (n.lower() for n in names[:MAX_PTR]):
        if not (host == wanted or host.endswith("." + wanted)):
            continue
        # RFC 7208 §5.5: only a name that resolves back to the client counts
        if ip in [ipaddress.ip_address(a) for a in await _addresses(state, domain, host)]:
            return True
    return False


def _terms(state: _State, domain: str, record: str) -> tuple[list[Term], str | None]:
    """The record's mechanisms in order and its redirect= target; a bad term is a
    permerror (§4.6), or, walking, noted and skipped."""
    mechanisms, redirect = [], None
    for p in record_problems(record):
        if p.is_error or state.walking:  # warnings are for diagnose only
            state.problem(domain, p)
    for text in record.split()[1:]:
        try:
            term = parse_term(text)
        except PermError:
            continue  # reported by record_problems above
        if term.modifier:
            if term.name == "redirect" and redirect is None:
                redirect = term.arg
        else:
            mechanisms.append(term)
    return mechanisms, redirect


async def _evaluate(state: _State, term: Term, domain: str) -> bool:
    """One mechanism, traced in evaluation order (a term before what it includes),
    with the lookup count its own query brings (RFC 7208 §4.6.4)."""
    index = len(state.trace)
    own = state.lookups + (term.name in LOOKUP_MECHANISMS)
    state.trace.append(Step(domain, term.text, own))
    try:
        matched = await _mechanism(state, term, domain)
    except PermError as exc:
        if not state.walking:
            raise
        state.problem(domain, error(str(exc), "RFC 7208 §4.6", "dns"))
        matched = False
    except TempError as exc:
        if not state.walking:
            raise
        state.problem(domain, error(f"{term.text}: {exc}", "RFC 7208 §2.6.6", "dns"))
        matched = False
    if matched:
        state.trace[index] = Step(domain, term.text, own, "match")
    return matched


async def _check(state: _State, domain: str) -> str:
    if domain.lower() in state.seen:
        state.problem(
            domain,
            error(f"include loop: {' -> '.join((*state.seen, domain))}", "RFC 7208 §4.6.4", "loop"),
        )
        return "permerror"
    state.seen.append(domain.lower())
    try:
        record = await _record(state, domain)
        if record is None:
            return "none"
        mechanisms, redirect = _terms(state, domain, record)
        for term in mechanisms:
            if state.walking and term.name == "all":
                state.trace.append(Step(domain, term.text, state.lookups, "stop"))
                return QUALIFIERS[term.qualifier or "+"]
            if await _evaluate(state, term, domain) and not state.walking:
                return QUALIFIERS[term.qualifier or "+"]
        # RFC 7208 §6.1: redirect= is ignored when the record has an all
        if redirect is not None and not any(t.name == "all" for t in mechanisms):
            state.count_lookup(domain)
            target = _target(redirect, state, domain)
            state.trace.append(Step(domain, f"redirect={redirect}", state.lookups))
            result = await _check(state, target)
            if result == "none":  # RFC 7208 §6.1: a redirect target without a record
                state.problem(
                    domain,
                    error(f"redirect={target} has no SPF record", "RFC 7208 §6.1", "include"),
                )
                return "permerror"
            return result
        return "neutral"
    finally:
        state.seen.pop()


def _client(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped
    return addr


async def check_host(
    resolver: Resolver, ip: str, domain: str, sender: str, helo: str = ""
) -> SpfResult:
    """RFC 7208 §4: the SPF result for ``ip`` sending as ``sender`` (for ``domain``)."""
    domain = domain.rstrip(".").lower()
    if not valid_domain(domain):
        return SpfResult("none", domain, "no valid domain to check")
    try:
        addr = _client(ip)
    except ValueError:
        return SpfResult("permerror", domain, f"bad client address {ip!r}")
    state = _State(addr, sender, helo, resolver)
    try:
        result, reason = await _check(state, domain), ""
    except TempError as exc:
        result, reason = "temperror", str(exc)[:200]
    except PermError as exc:
        result, reason = "permerror", str(exc)[:200]
    return state.result(result, domain, reason)


async def walk(resolver: Resolver, domain: str) -> SpfResult:
    """The evaluation a receiver makes for a client no mechanism but ``all``
    matches (the most lookups any message can cost), every problem on the way.

    DNS failures of the top record raise :class:`DNSError` (the caller reports
    that it could not read the domain)."""
    domain = domain.rstrip(".").lower()
    state = _State(_client(WALK_IP), f"postmaster@{domain}", domain, resolver, walking=True)
    try:
        result, reason = await _check(state, domain), ""
    except TempError as exc:
        raise DNSTemporaryError(str(exc)) from None
    except PermError as exc:  # a domain-spec that cannot be expanded
        state.problem(domain, error(str(exc), "RFC 7208 §4.8"))
        result, reason = "permerror", str(exc)
    if any(p.is_error for _, p in state.problems):
        result = "permerror"
    return state.result(result, domain, reason)


async def check_mail_from(resolver: Resolver, ip: str, helo: str, mail_from: str) -> SpfResult:
    """The MAIL FROM identity (RFC 7208 §2.4); a null sender is checked as
    ``postmaster@HELO`` (§2.4: the HELO identity stands in)."""
    if not mail_from:
        return await check_helo(resolver, ip, helo)
    local, _, domain = mail_from.rpartition("@")
    sender = mail_from if local else f"postmaster@{domain}"
    return await check_host(resolver, ip, domain, sender, helo)


async def check_helo(resolver: Resolver, ip: str, helo: str) -> SpfResult:
    """The HELO identity (RFC 7208 §2.3)."""
    return await check_host(resolver, ip, helo, f"postmaster@{helo}", helo)
