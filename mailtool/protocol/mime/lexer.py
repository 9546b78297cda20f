"""RFC 5322 / RFC 2045 header-value lexer over bytes, tolerant like IMAP servers.

Every reader returns Dovecot's tri-state so callers can reproduce its recovery
on broken input (we compare our ENVELOPE and BODYSTRUCTURE with Dovecot's, and
clients compare servers): ``-1`` broken, ``0`` consumed the whole input,
``1`` more input follows.  Every reader moves forward only, so each header
value is lexed in linear time (a failed alternative is retried at most once).
"""

from __future__ import annotations

import re

# RFC 5322 §3.2.3 atext, plus every 8-bit byte (obs / EAI headers in the wild)
_ATEXT = frozenset(
    b"!#$%&'*+-/=?^_`{|}~"
    + bytes(range(ord("0"), ord("9") + 1))
    + bytes(range(ord("A"), ord("Z") + 1))
    + bytes(range(ord("a"), ord("z") + 1))
    + bytes(range(0x80, 0x100))
)
# RFC 2045 §5.1 token = atext without the tspecials "/", "=", "?" (plus ".")
_TOKEN = (_ATEXT - frozenset(b"/=?")) | frozenset(b".")
_ATEXT_RUN = re.compile(rb"[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z\x80-\xff]+")
_ATEXT_DOT_RUN = re.compile(rb"[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z\x80-\xff.]+")
_TOKEN_RUN = re.compile(rb"[!#$%&'*+\-^_`{|}~0-9A-Za-z\x80-\xff.]*")
_LWSP = b" \t\r\n"
_BROKEN_VALUE = re.compile(rb"[^; \t\r\n]*")
#: what Dovecot puts for a NUL inside a quoted string or comment (U+FFFD)
NUL_REPLACEMENT = "\ufffd".encode()


def is_atext(c: int) -> bool:
    return c in _ATEXT


class Lexer:
    """A cursor over one header value (bytes)."""

    __slots__ = ("data", "end", "last_comment", "nul_replacement", "pos")

    def __init__(self, data: bytes, *, keep_comment: bool = False, nul: bool = False) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)
        # the text of the last comment skipped: a display name for "a@b (Name)"
        self.last_comment: bytearray | None = bytearray() if keep_comment else None
        self.nul_replacement = NUL_REPLACEMENT if nul else None

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < self.end else -1

    def more(self) -> int:
        return 1 if self.pos < self.end else 0

    def _copy_until(self, out: bytearray, close: int, nest: int = -1) -> bool:
        """Copy quoted text up to ``close`` (after the opening char) into ``out``.

        Folding [CR]LF is dropped, quoted-pairs unescaped, NUL replaced when
        asked; ``nest`` is the char that opens a nested level (comments).
        """
        data = self.data
        self.pos += 1
        start = pos = self.pos
        level = 1
        while pos < self.end:
            c = data[pos]
            if c == nest:
                level += 1
            elif c == close:
                level -= 1
                if level == 0:
                    out += data[start:pos]
                    self.pos = pos + 1
                    return True
            elif c == 0x0A:  # folding: drop the [CR]LF
                out += data[start : pos - 1 if pos > start and data[pos - 1] == 0x0D else pos]
                start = pos + 1
            elif c == 0 and self.nul_replacement is not None:
                out += data[start:pos] + self.nul_replacement
                start = pos + 1
            elif c == 0x5C:  # quoted-pair
                pos += 1
                if pos >= self.end:
                    break
                if data[pos] in b"\r\n\x00":
                    continue
                out += data[start : pos - 1]
                start = pos
            pos += 1
        self.pos = pos
        return False  # not closed

    # RFC 5322 §3.2.2 comment, nested, with quoted-pairs
    def skip_comment(self) -> int:
        lc = self.last_comment
        if lc is not None:
            del lc[:]
        ok = self._copy_until(lc if lc is not None else bytearray(), 0x29, 0x28)
        return self.more() if ok else -1

    # RFC 5322 §3.2.2 CFWS
    def skip_lwsp(self) -> int:
        data = self.data
        while self.pos < self.end:
            c = data[self.pos]
            if c in _LWSP:
                self.pos += 1
            elif c == 0x28:
                if self.skip_comment() < 0:
                    return -1
            else:
                break
        return self.more()

    def _run(self, regex: re.Pattern[bytes], out: bytearray) -> int:
        m = regex.match(self.data, self.pos)
        if m is not None:
            out += m.group()
            self.pos = m.end()
        return self.skip_lwsp() if self.pos < self.end else 0

    def atom(self, out: bytearray) -> int:
        if self.pos >= self.end or self.data[self.pos] not in _ATEXT:
            return -1
        return self._run(_ATEXT_RUN, out)

    def mime_token(self, out: bytearray) -> int:
        return self._run(_TOKEN_RUN, out)

    def _atom_or_dot(self, out: bytearray) -> int:
        return self._run(_ATEXT_DOT_RUN, out)

    # RFC 5322 §3.2.3 dot-atom, allowing CFWS around "." (RFC 822)
    def dot_atom(self, out: bytearray) -> int:
        data = self.data
        if self.pos >= self.end or data[self.pos] not in _ATEXT:
            return -1
        while True:
            m = _ATEXT_RUN.match(data, self.pos)
            if m is None:
                return -1
            out += m.group()
            self.pos = m.end()
            if self.pos >= self.end:
                return 0
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret
            if data[self.pos] != 0x2E:  # .
                return 1
            self.pos += 1
            out += b"."
            if self.skip_lwsp() <= 0:
                return -1

    # RFC 5322 §3.2.4 quoted-string; folding removed, quoted-pairs unescaped
    def quoted_string(self, out: bytearray) -> int:
        return self.skip_lwsp() if self._copy_until(out, 0x22) else -1

    # RFC 5322 §3.2.5 phrase (with obs-phrase dots); words joined by one space
    def phrase(self, out: bytearray) -> int:
        if self.pos >= self.end:
            return 0
        if self.data[self.pos] == 0x2E:
            return -1
        while True:
            ret = self.quoted_string(out) if self.data[self.pos] == 0x22 else self._atom_or_dot(out)
            if ret <= 0:
                return ret
            c = self.data[self.pos]
            if c not in _ATEXT and c != 0x22 and c != 0x2E:
                break
            out += b" "
        return self.skip_lwsp()

    # RFC 5322 §3.4.1 domain-literal, kept with its brackets
    def _domain_literal(self, out: bytearray) -> int:
        data = self.data
        start = pos = self.pos
        pos += 1
        while pos < self.end:
            c = data[pos]
            if c == 0x5B:
                self.pos = pos
                return -1
            if c == 0x5D:
                out += data[start : pos + 1]
                self.pos = pos + 1
                return self.skip_lwsp()
            if c == 0x0A:
                out += data[start : pos - 1 if pos > start and data[pos - 1] == 0x0D else pos]
                start = pos + 1
            elif c == 0x5C:
                pos += 1
                if pos >= self.end:
                    break
                if data[pos] in b"\r\n\x00":
                    out += data[start:pos]
                    start = pos
                    continue
            pos += 1
        self.pos = pos
        return -1

    def domain(self, out: bytearray) -> int:
        """At "@": domain = dot-atom / domain-literal / obs-domain."""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1
        if self.data[self.pos] == 0x5B:
            return self._domain_literal(out)
        return self.dot_atom(out)

    # RFC 2045 §5.1 type "/" subtype
    def content_type(self, out: bytearray) -> int:
        mark = len(out)
        if self.skip_lwsp() <= 0:
            return -1
        if self.mime_token(out) <= 0 or len(out) == mark:
            return -1
        if self.data[self.pos] != 0x2F:
            del out[mark:]
            return -1
        self.pos += 1
        if self.skip_lwsp() <= 0:
            del out[mark:]
            return -1
        out += b"/"
        sub = len(out)
        ret = self.mime_token(out)
        if ret < 0 or len(out) == sub or (self.pos < self.end and self.data[self.pos] != 0x3B):
            del out[mark:]
            return -1
        return ret

    # RFC 2045 §5.1 ";" attribute "=" value
    def content_param(self) -> tuple[int, bytes | None, bytes]:
        if self.pos >= self.end:
            return 0, None, b""
        if self.data[self.pos] != 0x3B:
            return -1, None, b""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1, None, b""
        key = bytearray()
        if self.mime_token(key) <= 0:
            return -1, None, b""
        if self.data[self.pos] != 0x3D:
            return -1, None, b""
        self.pos += 1
        value = bytearray()
        ret = self.skip_lwsp()
        if ret <= 0:
            pass  # broken / no value
        elif self.data[self.pos] == 0x22:
            ret = self.quoted_string(value)
        elif self.data[self.pos] == 0x3D:
            # broken input seen in the wild: name==?utf-8?b?...?=
            m = _BROKEN_VALUE.match(self.data, self.pos)
            assert m is not None
            value += m.group()
            self.pos = m.end()
        else:
            ret = self.mime_token(value)
        return (-1 if ret < 0 else 1), bytes(key), bytes(value)


def parse_params(lex: Lexer) -> list[tuple[bytes, bytes]]:
    """RFC 2045 parameters with RFC 2231 continuations merged (``name*0*=...``).

    Like Dovecot, plain parameters come first in order, then merged RFC 2231
    ones sorted by name; an extended value keeps its ``charset'lang'`` prefix
    and %-encoding (``filename*`` = ``utf-8''%C3%A9.txt``), which is what IMAP
    clients expect in BODYSTRUCTURE.  A broken parameter is skipped.
    """
    result: list[tuple[bytes, bytes]] = []
    split: list[tuple[bytes, int, bool, bytes]] = []
    idx = 0
    while True:
        ret, key, value = lex.content_param()
        if ret == 0:
            break
        if ret < 0 or key is None:
            if lex.pos >= lex.end:
                break
            lex.pos += 1
            continue
        star = key.find(b"*")
        if star >= 0:
            p = star
            if p + 1 < len(key):
                p += 1
                digits = re.match(rb"[0-9]*", key[p:])
                assert digits is not None
                idx = int(digits.group()) if digits.group() else 0
                p += len(digits.group())
            extended = p < len(key) and key[p] == 0x2A
            if extended:
                p += 1
            if p == len(key):
                split.append((key[:star], idx, extended, value))
                continue
        result.append((key, value))
    if not split:
        return result
    split.sort(key=lambda s: (s[0], s[1]))
    i = 0
    while i < len(split):
        name = split[i][0].lower()
        j = i
        ok, have_ext = True, False
        while j < len(split) and split[j][0].lower() == name:
            ok = ok and split[j][1] == j - i
            have_ext = have_ext or split[j][2]
            j += 1
        if not ok:  # missing sections: keep them as they came
            for k, n, ext, v in split[i:j]:
                result.append((k + b"*%d" % n + (b"*" if ext else b""), v))
        else:
            out = bytearray(b"''" if have_ext and not split[i][2] else b"")
            for _k, _n, ext, v in split[i:j]:
                out += v.replace(b"%", b"%25") if have_ext and not ext else v
            result.append((split[i][0] + (b"*" if have_ext else b""), bytes(out)))
        i = j
    return result
