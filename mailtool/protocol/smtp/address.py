"""Reverse-path and forward-path syntax, exactly per RFC 5321 §4.1.2 (and RFC 6531
§3.3 when the transaction is SMTPUTF8).

Why an own parser instead of ``email.utils``: the relay policy must see the
local part *as written*. ``user%other@local``, ``"user@other"@local`` and
``other!user@local`` are relay tricks only when something interprets ``%``, ``@``
or ``!``; this module never does, it hands the policy the raw text plus a flag
(:attr:`Address.has_route_chars`) and the policy decides.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from . import codes
from .reply import CommandSyntaxError, Reply

#: RFC 5321 §4.5.3.1.3: a path is at most 256 octets including "<", ">" and route
MAX_PATH = 256
#: RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. Not enforced by the
#: parser (SRS and VERP addresses overstep it and everyone accepts them); the
#: path limit above bounds it.
MAX_LOCAL_PART = 64
#: RFC 5321 §4.5.3.1.2: a domain is at most 255 octets
MAX_DOMAIN = 255
#: RFC 1035 §2.3.4: a label is at most 63 octets
MAX_LABEL = 63

_ATEXT = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
# RFC 6531 §3.3: UTF8-non-ascii is added to atext, qtextSMTP and sub-domain.
# Excludes C1 controls and lone surrogates (from a surrogateescape decode).
_UTF8 = "\u00a0-\ud7ff\ue000-\U0010ffff"
_DOT_STRING = {
    False: re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"),
    True: re.compile(rf"[{_ATEXT}{_UTF8}]+(?:\.[{_ATEXT}{_UTF8}]+)*"),
}
# qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP = "\" %d32-126
_QUOTED = {
    False: re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'),
    True: re.compile(rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e{_UTF8}]|\\[\x20-\x7e])*"'),
}
_LABEL = {
    False: re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    True: re.compile(rf"[A-Za-z0-9{_UTF8}](?:[A-Za-z0-9{_UTF8}-]*[A-Za-z0-9{_UTF8}])?"),
}
_GENERAL_LITERAL = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+")
_QUOTED_PAIR = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Address:
    """A mailbox as written in a path: ``local_part`` keeps its quotes and
    backslashes, ``domain`` its case and brackets. ``domain`` is empty only for
    the special recipient ``<Postmaster>`` (RFC 5321 §4.1.1.3)."""

    local_part: str
    domain: str

    def __str__(self) -> str:
        return f"{self.local_part}@{self.domain}" if self.domain else self.local_part

    def format_path(self) -> str:
        """``<local@domain>``."""
        return f"<{self}>"

    @property
    def is_quoted(self) -> bool:
        return self.local_part.startswith('"')

    @property
    def unquoted_local_part(self) -> str:
        """The local part with quotes and quoted-pairs removed: ``"a\\"b"`` -> ``a"b``."""
        if not self.is_quoted:
            return self.local_part
        return _QUOTED_PAIR.sub(r"\1", self.local_part[1:-1])

    @property
    def has_route_chars(self) -> bool:
        """The local part holds ``%``, ``!`` or ``@``: the characters of old
        source-routing conventions that an open relay interprets. We never do;
        a policy may refuse such a recipient for a local domain."""
        return any(c in self.unquoted_local_part for c in "%!@")

    @property
    def is_postmaster(self) -> bool:
        """RFC 5321 §4.5.1: "postmaster" is case-insensitive in any domain."""
        return self.unquoted_local_part.lower() == "postmaster"

    @property
    def is_domain_literal(self) -> bool:
        return self.domain.startswith("[")

    @property
    def literal_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The IP of ``[1.2.3.4]`` / ``[IPv6:...]``; None for a name or general literal."""
        if not self.is_domain_literal:
            return None
        inner = self.domain[1:-1]
        if inner[:5].lower() == "ipv6:":
            return ipaddress.IPv6Address(inner[5:])
        if ":" in inner:
            return None
        return ipaddress.IPv4Address(inner)

    @property
    def is_ascii(self) -> bool:
        """False when the address needs SMTPUTF8 (RFC 6531)."""
        return str(self).isascii()


def _syntax(reverse: bool, why: str) -> CommandSyntaxError:
    # RFC 3463: X.1.7 bad sender mailbox syntax, X.1.3 bad destination syntax
    enh = codes.ES_BAD_SENDER_SYNTAX if reverse else codes.ES_BAD_DEST_SYNTAX
    what = "sender" if reverse else "recipient"
    return CommandSyntaxError(
        Reply(codes.C501_PARAM_SYNTAX_ERROR, (f"bad {what} address syntax: {why}",), enh)
    )


def _not_ascii() -> CommandSyntaxError:
    # RFC 6531 §3.5: a non-ASCII address without SMTPUTF8 gets 553 5.6.7
    return CommandSyntaxError(
        Reply(
            codes.C553_MAILBOX_NAME_NOT_ALLOWED,
            ("non-ASCII address requires SMTPUTF8",),
            codes.ES_NON_ASCII_ADDRESS,
        )
    )


def is_valid_domain(domain: str, *, smtputf8: bool = False) -> bool:
    """RFC 5321 §4.1.2 ``Domain`` (with U-labels when ``smtputf8``), lengths included."""
    if not domain or len(domain.encode("utf-8", "surrogatepass")) > MAX_DOMAIN:
        return False
    label = _LABEL[smtputf8]
    for part in domain.split("."):
        if len(part.encode("utf-8", "surrogatepass")) > MAX_LABEL or not label.fullmatch(part):
            return False
    return True


def _is_valid_literal(literal: str) -> bool:
    """RFC 5321 §4.1.3 address-literal, brackets included."""
    if len(literal) < 3 or literal[0] != "[" or literal[-1] != "]":
        return False
    inner = literal[1:-1]
    try:
        if inner[:5].lower() == "ipv6:":
            if "%" in inner:  # ipaddress accepts scope ids; the RFC does not
                return False
            ipaddress.IPv6Address(inner[5:])
            return True
        if ":" in inner:
            return bool(_GENERAL_LITERAL.fullmatch(inner))
        ipaddress.IPv4Address(inner)
        return True
    except ValueError:
        return False


def parse_helo_domain(argument: str) -> str:
    """The argument of HELO / EHLO: ``Domain / address-literal`` (RFC 5321
    §4.1.1.1), returned as written; U-labels are accepted (RFC 6531 §3.7.1 lets
    an SMTPUTF8 client use them). Anything else is ``501 5.5.4``."""
    domain = argument.strip(" ")
    ok = (
        _is_valid_literal(domain)
        if domain.startswith("[")
        else is_valid_domain(domain, smtputf8=True)
    )
    if not ok:
        raise CommandSyntaxError(
            Reply(
                codes.C501_PARAM_SYNTAX_ERROR,
                ("EHLO needs a domain or an address literal",),
                codes.ES_INVALID_ARGS,
            )
        )
    return domain


def parse_mailbox(text: str, *, smtputf8: bool = False, reverse: bool = False) -> Address:
    """``Mailbox = Local-part "@" ( Domain / address-literal )``, the whole of ``text``."""
    if not text.isascii() and not smtputf8:
        raise _not_ascii()
    if text.startswith('"'):
        m = _QUOTED[smtputf8].match(text)
        if not m:
            raise _syntax(reverse, "unterminated or invalid quoted local part")
        local, rest = m.group(0), text[m.end() :]
    else:
        local, at, domain = text.partition("@")
        rest = at + domain
        if not _DOT_STRING[smtputf8].fullmatch(local):
            raise _syntax(reverse, "invalid local part")
    if not rest.startswith("@"):
        raise _syntax(reverse, "missing @domain")
    domain = rest[1:]
    if domain.startswith("["):
        if not _is_valid_literal(domain):
            raise _syntax(reverse, "invalid address literal")
    elif not is_valid_domain(domain, smtputf8=smtputf8):
        raise _syntax(reverse, "invalid domain")
    return Address(local, domain)


def parse_path(text: str, *, reverse: bool = False, smtputf8: bool = False) -> Address | None:
    """A ``<path>`` per RFC 5321 §4.1.2.

    ``reverse=True`` parses a Reverse-path: ``<>`` gives None (the null sender of
    bounces). ``reverse=False`` parses a Forward-path, where ``<Postmaster>``
    without a domain is allowed (§4.1.1.3). A source route ``<@a,@b:u@d>`` is
    checked and dropped (§4.1.1.3 / Appendix C: SHOULD be ignored).
    Raises :class:`CommandSyntaxError` with a 501 (or 553 5.6.7 for non-ASCII
    without ``smtputf8``).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PATH:
        raise _syntax(reverse, "path longer than 256 octets")
    if len(text) < 2 or text[0] != "<" or text[-1] != ">":
        raise _syntax(reverse, "path must be enclosed in <>")
    inner = text[1:-1]
    if not inner:
        if reverse:
            return None
        raise _syntax(reverse, "empty forward-path")
    if inner.startswith("@"):
        route, colon, inner = inner.partition(":")
        if not colon:
            raise _syntax(reverse, "source route without ':'")
        for hop in route.split(","):
            if not hop.startswith("@") or not is_valid_domain(hop[1:], smtputf8=smtputf8):
                raise _syntax(reverse, "invalid source route")
    if not reverse and inner.lower() == "postmaster":
        return Address(inner, "")
    return parse_mailbox(inner, smtputf8=smtputf8, reverse=reverse)


def format_path(address: Address | None) -> str:
    """``<local@domain>``, or ``<>`` for the null reverse-path."""
    return "<>" if address is None else address.format_path()
