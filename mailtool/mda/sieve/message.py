"""The message as Sieve tests see it: decoded header values, addresses, body parts.

Parsed once, lazily, from the raw bytes the MDA holds. Header values are
unfolded and RFC 2047-decoded for ``header`` (RFC 5228 §5.7); address
headers are parsed from the raw value (an encoded display name may hide a
comma) for ``address`` (§5.1). Body text for the ``body`` test (RFC 5173) is
decoded per MIME part, at most :data:`MAX_BODY_CHARS` characters in all.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses
from functools import cached_property

from mailtool.mda.sieve.match import ascii_lower

#: bounded cost: characters of decoded body the body test looks at
MAX_BODY_CHARS = 1024 * 1024
#: RFC 5233 §3: the subaddress separator we use (also our plus-addressing)
DETAIL_SEPARATOR = "+"

_TAG_RE = re.compile(r"<[^>]*>")


def decode_value(raw: str) -> str:
    """Unfold and RFC 2047-decode a header value; undecodable words stay as they are."""
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)
    if "=?" not in unfolded:
        return unfolded.strip()  # no encoded word: what make_header would give, 20x faster
    try:
        return str(make_header(decode_header(unfolded))).strip()
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return unfolded.strip()


_COMPAT32 = email.policy.compat32
#: email.feedparser's line ends (BufferedSubFile) and its test of a header line (headerRE)
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_FIELD_LINE_RE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """The (name, raw value) fields of ``raw``'s header exactly as
    ``email.message_from_bytes(raw, policy=compat32)._headers`` holds them (unfolded
    later), without the feedparser's per-message machinery: a third of what a Sieve
    delivery cost before its rules (bench/bench_sieve.py). Its quirks are kept: a
    leading ``From `` line or a misplaced one is not a field, a continuation with no
    field before it is dropped, so is a line starting with ``:``
    (tests/mda/sieve/test_fast_header.py compares both on generated headers)."""
    lines: list[str] = []
    for line in _LINE_RE.findall(raw.decode("ascii", "surrogateescape")):
        if not _FIELD_LINE_RE.match(line):
            break  # the blank line, or the first body line (RFC 5322 §2.1)
        lines.append(line)
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    for lineno, line in enumerate(lines):
        if line[0] in " \t":  # RFC 5322 §2.2.3 folding
            if current:
                current.append(line)
            continue
        if current:
            fields.append(_field(current))
            current = []
        if line.startswith("From "):
            if lineno == len(lines) - 1 and lineno:
                break  # the first body line, to the feedparser
            continue  # the mbox envelope line, or a misplaced one
        if not line.startswith(":"):
            current = [line]
    if current:
        fields.append(_field(current))
    return fields


def _field(lines: list[str]) -> tuple[str, str]:
    """compat32's header_source_parse: name as written, value without its leading blanks
    and final line end."""
    name, value = lines[0].split(":", 1)
    return name, (value.lstrip(" \t") + "".join(lines[1:])).rstrip("\r\n")


def address_part(address: str, part: str) -> str | None:
    """One part of an address (RFC 5228 §2.7.4, RFC 5233 §4); None: the part does not exist."""
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if part == "localpart":
        return local
    if part == "domain":
        return domain
    if part == "user":
        return local.partition(DETAIL_SEPARATOR)[0]
    if part == "detail":
        _user, sep, detail = local.partition(DETAIL_SEPARATOR)
        return detail if sep else None
    return address


class MessageView:
    """Read-only access to one message for the tests."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        # the view is immutable (editheader makes a new one): a script's 200 rules asking
        # for the same header decode it once (bench/bench_sieve.py)
        self._folded: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._decoded: dict[str, list[str]] = {}
        self._addresses: dict[tuple[str, ...], list[str]] = {}

    @property
    def size(self) -> int:
        return len(self.raw)

    @cached_property
    def _index(self) -> dict[str, list[str]]:
        """Lower-case field name -> its raw values, in order: one pass over the header, so
        each of a script's 200 rules asking for a different (mostly absent) field costs a
        dict lookup, not a scan of every field (what ``Message.get_all`` does)."""
        # the header tests need the header only: parsing the body too cost a 2 KB message
        # most of its Sieve time, and grew with the message (bench/bench_sieve.py)
        raw = self.raw
        for sep in (b"\r\n\r\n", b"\n\n"):
            end = raw.find(sep)
            if end >= 0:
                raw = raw[: end + len(sep)]
                break
        fetch = _COMPAT32.header_fetch_parse  # what Message.get_all returns for a value
        index: dict[str, list[str]] = {}
        for name, value in header_fields(raw):
            index.setdefault(name.lower(), []).append(str(fetch(name, value)))
        return index

    def raw_headers(self, name: str) -> list[str]:
        return list(self._index.get(name.lower(), ()))

    def folded(self, name: str, part: str | None = None) -> tuple[str, ...]:
        """The decoded values of ``name`` (or with ``part``, that part of each address in
        it, RFC 5228 §2.7.4) folded by i;ascii-casemap (RFC 4790 §9.2), once per message:
        the fast header / address forms compare them with keys folded at compile time."""
        key = name.lower()
        found = self._folded.get((key, part))
        if found is None:
            if key not in self._index:
                values: list[str] = []  # most of a script's fields are absent
            elif part is None:
                values = self.headers(key)
            else:
                found_parts = (address_part(a, part) for a in self.addresses(key))
                values = [p for p in found_parts if p is not None]
            # bounded: one entry per (field, part) the script names
            found = self._folded[(key, part)] = tuple(ascii_lower(v) for v in values)
        return found

    def headers(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), decoded."""
        key = name.lower()
        values = self._decoded.get(key)
        if values is None:
            values = self._decoded[key] = [decode_value(v) for v in self.raw_headers(name)]
        return list(values)

    def has_header(self, name: str) -> bool:
        return name.lower() in self._index

    def addresses(self, name: str) -> list[str]:
        """The addr-specs in every ``name`` header (groups flattened, empty ones left out)."""
        return self.addresses_in(self.raw_headers(name))

    def addresses_in(self, raw_values: list[str]) -> list[str]:
        """The addr-specs in these raw header values (for ``:index``, RFC 5260 §6)."""
        key = tuple(raw_values)
        found = self._addresses.get(key)
        if found is None:
            raw = [re.sub(r"\r?\n(?=[ \t])", "", v) for v in raw_values]
            found = self._addresses[key] = [a for _n, a in getaddresses(raw) if a]
        return list(found)

    @cached_property
    def raw_body(self) -> str:
        """RFC 5173 :raw — the body octets undecoded, as text."""
        data = self.raw
        for sep in (b"\r\n\r\n", b"\n\n"):
            idx = data.find(sep)
            if idx >= 0:
                body = data[idx + len(sep) :]
                break
        else:
            body = b""
        return body[:MAX_BODY_CHARS].decode("utf-8", "replace")

    @cached_property
    def _mime(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    def body_parts(self, content_types: list[str] | None) -> list[str]:
        """RFC 5173 :content / :text — decoded leaf parts whose type matches.

        ``None`` means :text (every text/* part, HTML with its tags removed).
        A type ``"text"`` matches text/*, ``"text/html"`` exactly, ``""`` any
        part (RFC 5173 §5.2).
        """
        out: list[str] = []
        budget = MAX_BODY_CHARS
        for part in self._mime.walk():
            if part.is_multipart() or budget <= 0:
                continue
            ctype = part.get_content_type().lower()
            if content_types is None:
                if part.get_content_maintype() != "text":
                    continue
            elif not any(_type_matches(ctype, t.lower()) for t in content_types):
                continue
            text = _decoded(part)
            if content_types is None and ctype == "text/html":
                text = _TAG_RE.sub(" ", text)
            text = text[:budget]
            budget -= len(text)
            out.append(text)
        return out


def _type_matches(ctype: str, wanted: str) -> bool:
    if not wanted:
        return True
    if "/" in wanted:
        return ctype == wanted
    return ctype.split("/", 1)[0] == wanted


def _decoded(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload[:MAX_BODY_CHARS].decode(charset, "replace")
    except LookupError:
        return payload[:MAX_BODY_CHARS].decode("utf-8", "replace")
