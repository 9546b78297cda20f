"""SPF: RFC 7208 ``check_host()`` over :mod:`mailtool.dns`, asynchronous.

Results are the RFC's seven (§2.6): none, neutral, pass, fail, softfail,
temperror, permerror. Limits (§4.6.4): 10 terms that cause DNS lookups
(include, a, mx, ptr, exists, redirect) per evaluation, includes counted;
2 "void" lookups (NXDOMAIN or no answer); 10 MX names per ``mx``, 10 PTR
names per ``ptr``. Macros (§7) are expanded, except ``%{p}`` which expands to
"unknown" (§7.3 allows it; its lookups are costly and it is deprecated). The
``exp=`` explanation is not fetched: we never show it to anyone.
"""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from mailtool.dns import DNSError, DNSTemporaryError, Resolver, reverse_name
from mailtool.protocol.authrecords import SPF_TERM, spf_records

MAX_LOOKUPS = 10
MAX_VOID = 2
MAX_MX = 10
MAX_PTR = 10
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_MACRO = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.I)
_CIDR = re.compile(r"^(.*?)(?:/(\d{1,2}))?(?://(\d{1,3}))?$")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$", re.I)


class PermError(Exception):
    pass


class TempError(Exception):
    pass


@dataclass(frozen=True)
class SpfResult:
    """``result`` of ``check_host`` for ``domain``, and why (for the A-R comment)."""

    result: str
    domain: str
    reason: str = ""


@dataclass
class _State:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    helo: str
    resolver: Resolver
    lookups: int = 0
    voids: int = 0
    seen: list[str] = field(default_factory=list)

    def count_lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise PermError(f"more than {MAX_LOOKUPS} DNS-querying terms (RFC 7208 §4.6.4)")

    def count_void(self, empty: bool) -> None:
        if empty:
            self.voids += 1
            if self.voids > MAX_VOID:
                raise PermError(f"more than {MAX_VOID} void lookups (RFC 7208 §4.6.4)")


def valid_domain(domain: str) -> bool:
    """RFC 7208 §4.3: a multi-label name of valid labels, else the result is "none"."""
    labels = domain.rstrip(".").split(".")
    return len(labels) > 1 and all(_LABEL.match(x) for x in labels) and len(domain) <= 253


async def _lookup(state: _State, name: str, rdtype: str) -> list[object]:
    try:
        found = await state.resolver.lookup(name, rdtype)
    except DNSTemporaryError as exc:
        raise TempError(str(exc)) from None
    except DNSError as exc:
        raise PermError(str(exc)) from None
    state.count_void(found.void)
    return list(found.records)


async def _addresses(state: _State, name: str) -> list[str]:
    rdtype = "A" if state.ip.version == 4 else "AAAA"
    return [r.address for r in await _lookup(state, name, rdtype)]  # type: ignore[attr-defined]


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


def _target(arg: str, state: _State, domain: str) -> str:
    """A domain-spec after expansion, shortened to 253 octets from the left (§7.3)."""
    name = expand(arg, state, domain).rstrip(".") if arg else domain
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    if not name or not valid_domain(name):
        raise PermError(f"invalid domain {name!r}")
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
        raise PermError(f"{domain} has {len(records)} SPF records (RFC 7208 §4.5)")
    return records[0] if records else None


async def _mechanism(state: _State, name: str, rest: str, domain: str) -> bool:
    """Does the mechanism match the client IP? (RFC 7208 §5)"""
    ip = state.ip
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise PermError(f"{name} needs an address")
        value = rest[1:]
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise PermError(f"bad {name} value {value!r}") from None
        if net.version != (4 if name == "ip4" else 6):
            raise PermError(f"bad {name} value {value!r}")
        return ip.version == net.version and ip in net
    # the rest may cause DNS lookups
    state.count_lookup()
    m = _CIDR.match(rest[1:] if rest.startswith(":") else rest)
    assert m is not None
    spec = m.group(1) if rest.startswith(":") else ""
    if not rest.startswith(":") and m.group(1):
        raise PermError(f"bad {name} argument {rest!r}")
    cidr4 = int(m.group(2)) if m.group(2) else 32
    cidr6 = int(m.group(3)) if m.group(3) else 128
    if cidr4 > 32 or cidr6 > 128:
        raise PermError(f"bad CIDR length in {rest!r}")
    if name == "include":
        if not rest.startswith(":"):
            raise PermError("include needs a domain")
        target = _target(rest[1:], state, domain)
        result = await _check(state, target)
        if result in ("temperror",):
            raise TempError(f"include:{target}")
        if result in ("permerror", "none"):
            # RFC 7208 §5.2: an included domain without SPF is a permanent error
            raise PermError(f"include:{target} gave {result}")
        return result == "pass"
    target = _target(spec, state, domain)
    if name == "a":
        return any(_in_network(ip, a, cidr4, cidr6) for a in await _addresses(state, target))
    if name == "mx":
        hosts = [r.exchange.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
                 for r in await _lookup(state, target, "MX")]
        if len(hosts) > MAX_MX:
            raise PermError(f"{target} has more than {MAX_MX} MX records (RFC 7208 §4.6.4)")
        for host in hosts:
            if host in ("", "."):
                continue
            if any(_in_network(ip, a, cidr4, cidr6) for a in await _addresses(state, host)):
                return True
        return False
    if name == "exists":
        if not spec:
            raise PermError("exists needs a domain")
        # RFC 7208 §5.7: an A query, whatever the IP version of the client
        return bool(await _lookup(state, target, "A"))
    if name == "ptr":
        names = [r.target.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
                 for r in await _lookup(state, reverse_name(str(ip)), "PTR")]
        wanted = target.lower()
        for host in (n.lower() for n in names[:MAX_PTR]):
            if not (host == wanted or host.endswith("." + wanted)):
                continue
            # RFC 7208 §5.5: only a name that resolves back to the client counts
            if ip in [ipaddress.ip_address(a) for a in await _addresses(state, host)]:
                return True
        return False
    raise PermError(f"unknown mechanism {name!r}")


async def _check(state: _State, domain: str) -> str:
    if domain.lower() in state.seen:
        raise PermError(f"include loop at {domain}")
    state.seen.append(domain.lower())
    try:
        record = await _record(state, domain)
        if record is None:
            return "none"
        redirect = None
        for term in record.split()[1:]:
            m = SPF_TERM.match(term)
            if not m:
                raise PermError(f"bad term {term!r}")
            qualifier, name, rest = m.group(1), m.group(2).lower(), m.group(3) or ""
            if rest.startswith("=") and not qualifier:  # a modifier (§6)
                if name == "redirect":
                    if redirect is not None:
                        raise PermError("two redirect= modifiers")
                    redirect = rest[1:]
                continue
            if await _mechanism(state, name, rest, domain):
                return QUALIFIERS[qualifier or "+"]
        if redirect is not None and "all" not in _mechanism_names(record):
            state.count_lookup()
            target = _target(redirect, state, domain)
            result = await _check(state, target)
            # RFC 7208 §6.1: a redirect target without a record is a permerror
            return "permerror" if result == "none" else result
        return "neutral"
    finally:
        state.seen.pop()


def _mechanism_names(record: str) -> set[str]:
    out = set()
    for term in record.split()[1:]:
        m = SPF_TERM.match(term)
        if m and not (m.group(3) or "").startswith("="):
            out.add(m.group(2).lower())
    return out


async def check_host(
    resolver: Resolver, ip: str, domain: str, sender: str, helo: str = ""
) -> SpfResult:
    """RFC 7208 §4: the SPF result for ``ip`` sending as ``sender`` (for ``domain``)."""
    domain = domain.rstrip(".").lower()
    if not valid_domain(domain):
        return SpfResult("none", domain, "no valid domain to check")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return SpfResult("permerror", domain, f"bad client address {ip!r}")
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    state = _State(addr, sender, helo, resolver)
    try:
        result = await _check(state, domain)
    except TempError as exc:
        return SpfResult("temperror", domain, str(exc)[:200])
    except PermError as exc:
        return SpfResult("permerror", domain, str(exc)[:200])
    return SpfResult(result, domain)


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
