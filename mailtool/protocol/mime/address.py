"""RFC 5322 §3.4 address lists -> the address tuples of an IMAP ENVELOPE.

RFC 9051 §7.5.2 ENVELOPE: each address is ``(name adl mailbox host)``; a group
``name: a, b;`` is ``(NIL NIL "name" NIL)`` + its members + ``(NIL NIL NIL NIL)``.
Broken addresses still produce an entry, with the placeholders Dovecot uses
(``MISSING_MAILBOX``, ``MISSING_DOMAIN``, ``SYNTAX_ERROR``, ``INVALID_ROUTE``)
so clients that compare servers see the same thing.  The recovery steps follow
Dovecot's lib-mail/message-address.c so that the same broken header gives the
same ENVELOPE; the parser only moves forward (each mailbox is tried at most as
name-addr, then addr-spec), so it is linear in the header length.
"""

from __future__ import annotations

from mailtool.protocol.mime.lexer import Lexer

#: one ENVELOPE address: (display name, route, mailbox, host); None = NIL
Address = tuple[bytes | None, bytes | None, bytes | None, bytes | None]


class _AddressParser:
    def __init__(self, value: bytes) -> None:
        self.lex = Lexer(value, keep_comment=True, nul=True)
        self.out: list[Address] = []
        self.str = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.name: bytes | None = None
        self.route: bytes | None = None
        self.mailbox: bytes | None = None
        self.domain: bytes | None = None
        self.invalid = False

    def _add(self) -> None:
        self.out.append((self.name, self.route, self.mailbox, self.domain))
        self._reset()

    def _add_fixed(self) -> None:
        if self.mailbox is None:
            self.mailbox = b"MISSING_MAILBOX"
            self.invalid = True
        if not self.domain:
            self.domain = b"MISSING_DOMAIN"
            self.invalid = True
        self._add()

    def _at(self, ch: bytes) -> bool:
        lex = self.lex
        return lex.pos < lex.end and lex.data[lex.pos] == ch[0]

    def _local_part(self) -> int:
        # RFC 5322 §3.4.1 local-part = dot-atom / quoted-string / obs-local-part
        del self.str[:]
        lex = self.lex
        ret = lex.quoted_string(self.str) if self._at(b'"') else lex.dot_atom(self.str)
        if ret < 0:
            return -1
        self.mailbox = bytes(self.str)
        return ret

    def _domain(self) -> int:
        del self.str[:]
        ret = self.lex.domain(self.str)
        if ret < 0:
            return -1
        self.domain = bytes(self.str)
        return ret

    def _domain_list(self) -> int:
        # RFC 5322 §4.4 obs-domain-list = "@" domain *("," [CFWS] "@" domain)
        lex = self.lex
        route = bytearray()
        while True:
            if lex.pos >= lex.end:
                return 0
            if not self._at(b"@"):
                break
            if route:
                route += b","
            route += b"@"
            ret = lex.domain(route)
            if ret <= 0:
                return ret
            while lex.skip_lwsp() > 0 and self._at(b","):
                lex.pos += 1
        self.route = bytes(route)
        return 1

    def _angle_addr(self) -> int:
        # RFC 5322 §3.4 angle-addr = "<" [obs-route] addr-spec ">"
        lex = self.lex
        lex.pos += 1
        if lex.skip_lwsp() <= 0:
            return -1
        if self._at(b"@"):
            if self._domain_list() > 0 and self._at(b":"):
                lex.pos += 1
            else:
                self.route = b"INVALID_ROUTE"
                if lex.pos >= lex.end:
                    return -1
            if lex.skip_lwsp() <= 0:
                return -1
        if not self._at(b">"):  # "<>" has neither mailbox nor domain
            if self._local_part() <= 0:
                return -1
            if self._at(b"@") and self._domain() <= 0:
                return -1
        if not self._at(b">"):
            return -1
        lex.pos += 1
        return lex.skip_lwsp()

    def _name_addr(self) -> int:
        # RFC 5322 §3.4 name-addr = [display-name] angle-addr
        lex = self.lex
        del self.str[:]
        if lex.phrase(self.str) <= 0 or not self._at(b"<"):
            return -1
        self.name = bytes(self.str) or None
        if self._angle_addr() < 0:
            self.domain = b"SYNTAX_ERROR"
            self.invalid = True
        return lex.more()

    def _addr_spec(self) -> int:
        lex = self.lex
        assert lex.last_comment is not None
        del lex.last_comment[:]
        quoted = self._at(b'"')
        ret = self._local_part()
        if ret <= 0:
            self.invalid = True
        ret2 = -2
        if ret != 0 and self._at(b"@"):
            ret2 = self._domain()
            if ret2 <= 0:
                ret = ret2
        if lex.last_comment:
            self.name = bytes(lex.last_comment)  # "user@host (Display Name)"
        elif ret2 == -2:
            # "user" alone is a mailbox, "some words" is a display name
            self.str += b" "
            mark = len(self.str)
            lex.phrase(self.str)
            if len(self.str) != mark:
                self.mailbox = None
                self.name = bytes(self.str)
            elif not quoted:
                self.domain = b""
            self.invalid = True
            ret = -1
        return ret

    def _mailbox(self) -> int:
        start = self.lex.pos
        ret = self._name_addr()
        if ret < 0:
            self.lex.pos = start
            ret = self._addr_spec()
            if (
                self.invalid
                and self.name is None
                and self.mailbox is not None
                and self.domain is None
            ):
                self.name, self.mailbox = self.mailbox, None
        if ret < 0:
            self.invalid = True
        self._add_fixed()
        return ret

    def _group(self) -> int:
        # RFC 5322 §3.4 group = display-name ":" [group-list] ";" [CFWS]
        lex = self.lex
        del self.str[:]
        if lex.phrase(self.str) <= 0 or not self._at(b":"):
            return -1
        lex.pos += 1
        ret = lex.skip_lwsp()
        self.mailbox = bytes(self.str)
        self._add()
        if ret > 0 and not self._at(b";"):
            while True:
                self._mailbox()
                if not self._at(b","):
                    break
                lex.pos += 1
                if lex.skip_lwsp() <= 0:
                    ret = -1
                    break
        if ret >= 0:
            if not self._at(b";"):
                ret = -1
            else:
                lex.pos += 1
                ret = lex.skip_lwsp()
        self._add()
        return 0 if ret == 0 else 1

    def parse(self) -> list[Address]:
        lex = self.lex
        if lex.skip_lwsp() <= 0:
            return self.out
        while True:
            start = lex.pos
            ret = self._group()
            if ret < 0:
                lex.pos = start
                ret = self._mailbox()
            if ret == 0:
                break
            if not self._at(b","):
                break
            lex.pos += 1
            ret = lex.skip_lwsp()
            if ret <= 0:
                if ret < 0:
                    self._add_fixed()  # ends with garbage
                break
        return self.out


def parse_addresses(value: bytes) -> list[Address]:
    """An address-list header value -> ENVELOPE address tuples (empty: none)."""
    return _AddressParser(value).parse()
