"""SPF record syntax: RFC 7208 §12's ABNF, term by term, without I/O.

:func:`parse_term` gives one term's parts or raises :class:`PermError` (a term
that does not parse makes the whole record a permerror, §4.6);
:func:`record_problems` lists every error *and* every warning of a record
(``ptr`` is deprecated, mechanisms after ``all`` are never tested, unknown
modifiers are ignored), each with its RFC rule.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .problems import Problem, error, warning

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
#: the terms that cost a DNS lookup (RFC 7208 §4.6.4), redirect= too
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
_TERM = re.compile(r"^([+?~-]?)([a-z][a-z0-9._-]*)(.*)$", re.I | re.S)
#: RFC 7208 §12: ip4-cidr-length "/" ("0" / %x31-39 0*1DIGIT), ip6 "/" ( "0" / %x31-39 0*2DIGIT )
_DUAL_CIDR = re.compile(r"^(.*?)(?:/(0|[1-9]\d?))?(?://(0|[1-9]\d{0,2}))?$", re.S)
_MACRO_EXPAND = re.compile(r"%\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.I)
_MACRO_LETTERS = "slodiphv"
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$", re.I)
#: toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = re.compile(r"^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$", re.I)
RFC_ABNF = "RFC 7208 §12"


class PermError(Exception):
    """The record cannot be evaluated: check_host() gives permerror (RFC 7208 §2.6.7)."""


class TempError(Exception):
    """A DNS failure that may go away: check_host() gives temperror (RFC 7208 §2.6.6)."""


@dataclass(frozen=True)
class Term:
    text: str
    qualifier: str  #: "" (= "+"), "+", "-", "~", "?"; "" for modifiers
    name: str  #: lower-case
    arg: str | None  #: the domain-spec, address or macro-string
    cidr4: int | None = None
    cidr6: int | None = None
    modifier: bool = False

    @property
    def cidr(self) -> int:
        """The prefix length of ip4:/ip6: (the whole address when absent)."""
        if self.name == "ip4":
            return 32 if self.cidr4 is None else self.cidr4
        return 128 if self.cidr6 is None else self.cidr6


def valid_domain(domain: str) -> bool:
    """RFC 7208 §4.3: a multi-label name of valid labels, else the result is "none"."""
    labels = domain.rstrip(".").split(".")
    return len(labels) > 1 and all(_LABEL.match(x) for x in labels) and len(domain) <= 253


def _macro_string(text: str, *, exp: bool = False) -> None:
    """RFC 7208 §7.1: every "%" starts a macro-expand; c, r, t only in exp= (§7.3)."""
    rest = _MACRO_EXPAND.sub("", text)
    if "%" in rest:
        raise PermError(f"bad macro in {text!r} (RFC 7208 §7.1)")
    if any(not 0x21 <= ord(c) <= 0x7E for c in rest):
        raise PermError(f"{text!r}: only visible ASCII in a macro-string ({RFC_ABNF})")
    for m in _MACRO_EXPAND.finditer(text):
        letter = (m.group(1) or "").lower()
        if letter and letter not in _MACRO_LETTERS + ("crt" if exp else ""):
            raise PermError(f"macro %{{{m.group(1)}}} not allowed here (RFC 7208 §7.2)")


def _domain_spec(spec: str, term: str) -> str:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1, §12)."""
    if not spec:
        raise PermError(f"{term}: empty domain-spec ({RFC_ABNF})")
    _macro_string(spec)
    if spec.endswith("}"):  # domain-end = macro-expand
        return spec
    name = spec[:-1] if spec.endswith(".") else spec
    labels = name.split(".")
    fixed = [x for x in labels if "%" not in x]
    if (
        len(labels) < 2
        or not _TOPLABEL.match(labels[-1])
        or any(not x or len(x) > 63 for x in fixed)
    ):
        raise PermError(f"{term}: {spec!r} is not a domain name ({RFC_ABNF} domain-end)")
    return spec


def parse_term(text: str) -> Term:
    """One directive or modifier (RFC 7208 §4.6.1, §12); :class:`PermError` if bad."""
    m = _TERM.match(text)
    if not m:
        raise PermError(f"{text!r} is not a mechanism or modifier ({RFC_ABNF})")
    qualifier, name, rest = m.group(1), m.group(2).lower(), m.group(3)
    if rest.startswith("="):
        if qualifier:
            raise PermError(f"{text!r}: a modifier takes no qualifier ({RFC_ABNF})")
        arg = rest[1:]
        if name in ("redirect", "exp"):
            _domain_spec(arg, text)
        else:
            _macro_string(arg)
        return Term(text, "", name, arg, modifier=True)
    if name not in MECHANISMS:
        raise PermError(f"unknown mechanism {name!r} in {text!r} (RFC 7208 §5)")
    if name == "all":
        if rest:
            raise PermError(f"{text!r}: all takes no argument ({RFC_ABNF})")
        return Term(text, qualifier, name, None)
    if name in ("ip4", "ip6"):
        return _ip_term(text, qualifier, name, rest)
    if name in ("include", "exists", "ptr"):
        if not rest and name == "ptr":
            return Term(text, qualifier, name, None)
        if not rest.startswith(":"):
            raise PermError(f"{text!r}: {name} needs ':domain' ({RFC_ABNF})")
        return Term(text, qualifier, name, _domain_spec(rest[1:], text))
    # a, mx: [ ":" domain-spec ] [ dual-cidr-length ]
    c = _DUAL_CIDR.match(rest)
    assert c is not None
    spec, c4, c6 = c.group(1), c.group(2), c.group(3)
    if spec and not spec.startswith(":"):
        raise PermError(f"{text!r}: bad argument {rest!r} ({RFC_ABNF})")
    cidr4, cidr6 = (int(c4) if c4 else None), (int(c6) if c6 else None)
    if (cidr4 is not None and cidr4 > 32) or (cidr6 is not None and cidr6 > 128):
        raise PermError(f"{text!r}: prefix length out of range (RFC 7208 §5.6)")
    arg = _domain_spec(spec[1:], text) if spec else None
    return Term(text, qualifier, name, arg, cidr4, cidr6)


def _ip_term(text: str, qualifier: str, name: str, rest: str) -> Term:
    """ip4-network [ip4-cidr-length] / ip6-network [ip6-cidr-length] (RFC 7208 §5.6)."""
    if not rest.startswith(":"):
        raise PermError(f"{text!r}: {name} needs an address (RFC 7208 §5.6)")
    address, slash, length = rest[1:].partition("/")
    cls = ipaddress.IPv4Address if name == "ip4" else ipaddress.IPv6Address
    try:
        cls(address)
    except ValueError:
        raise PermError(
            f"{text!r}: {address!r} is not an IPv{name[2]} address (RFC 7208 §5.6)"
        ) from None
    top = 32 if name == "ip4" else 128
    cidr = None
    if slash:
        if not re.fullmatch(r"0|[1-9]\d{0,2}", length) or int(length) > top:
            raise PermError(f"{text!r}: prefix length /{length} is not 0-{top} (RFC 7208 §5.6)")
        cidr = int(length)
    return Term(
        text,
        qualifier,
        name,
        address,
        cidr if name == "ip4" else None,
        cidr if name == "ip6" else None,
    )


def record_problems(record: str) -> list[Problem]:
    """Every error and warning of one record's text, in order (RFC 7208 §4.6, §5, §6)."""
    out: list[Problem] = []
    seen_all, modifiers = False, {"redirect": 0, "exp": 0}
    for text in record.split()[1:]:
        try:
            term = parse_term(text)
        except PermError as exc:
            out.append(error(*_split(str(exc))))
            continue
        if term.modifier:
            if term.name in modifiers:
                modifiers[term.name] += 1
                if modifiers[term.name] == 2:  # RFC 7208 §6: at most once each
                    out.append(error(f"{term.name}= appears more than once", "RFC 7208 §6"))
                if term.name == "redirect" and seen_all:
                    out.append(
                        warning(
                            f"{text!r} is ignored: the record has an all",
                            "RFC 7208 §6.1",
                            "after-all",
                        )
                    )
            else:
                out.append(
                    warning(
                        f"unknown modifier {term.name}= is ignored",
                        "RFC 7208 §6",
                        "modifier",
                        "Remove it, or correct its name (redirect= or exp=).",
                    )
                )
            continue
        if seen_all:
            out.append(
                warning(
                    f"{text!r} after all is never evaluated",
                    "RFC 7208 §5.1",
                    "after-all",
                    f"Move {text} before the all term, or remove it.",
                )
            )
        if term.name == "ptr":
            out.append(
                warning(
                    f"{text!r}: ptr is deprecated (slow, unreliable)",
                    "RFC 7208 §5.5",
                    "ptr",
                    "Replace ptr with ip4:/ip6: ranges, a or mx for the hosts that send.",
                )
            )
        seen_all = seen_all or term.name == "all"
    return out


def _split(message: str) -> tuple[str, str]:
    """ "text (RFC x §y)" -> ("text", "RFC x §y")."""
    m = re.search(r"\s*\((RFC [^)]*)\)\s*$", message)
    return (message[: m.start()], m.group(1)) if m else (message, RFC_ABNF)
