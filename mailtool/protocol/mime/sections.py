"""The bytes of a message section: what ``FETCH BODY[...]`` and ``BINARY[...]`` send.

RFC 9051 §6.4.5: a section is a part number path (``1.2``) and optionally
``HEADER``, ``HEADER.FIELDS (...)``, ``HEADER.FIELDS.NOT (...)``, ``TEXT`` or
``MIME``.  Part 1 of a non-multipart entity is its body; after a
message/rfc822 part the numbers address the parts of the encapsulated message,
and HEADER / TEXT apply to that message.  RFC 3516 BINARY is the part body with
its Content-Transfer-Encoding removed.  Partial fetches (``<origin.length>``)
are the caller's slice of these bytes.

All bytes are in wire form (CRLF), consistent with the sizes in BODYSTRUCTURE.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Sequence

from mailtool.protocol.mime.parser import MULTIPART, RFC822, Message, MimeError, Part, UnknownCTE
from mailtool.protocol.mime.structure import parse

SECTION_TEXTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]+")
#: transfer encodings BINARY leaves as they are (RFC 2045 §6.2)
_IDENTITY = (None, "7bit", "8bit", "binary")


def find_part(msg: Message, path: Sequence[int]) -> Part | None:
    """The entity a part-number path names, or None when it does not exist."""
    part = msg.root
    for i, n in enumerate(path):
        more = i + 1 < len(path)
        if part.kind == MULTIPART:
            if not 1 <= n <= len(part.children):
                return None
            part = part.children[n - 1]
        elif n != 1 or (more and part.kind != RFC822):
            return None  # only "1" below a non-multipart, and nothing below a leaf
        if more and part.kind == RFC822:
            part = part.children[0]  # numbers go on inside the encapsulated message
    return part


def section(
    raw: bytes | Message,
    path: Sequence[int] = (),
    text: str | None = None,
    fields: Iterable[str] = (),
) -> bytes | None:
    """``BODY[path.text (fields)]``; None when the part does not exist.

    ``text`` is one of :data:`SECTION_TEXTS` or None; ``fields`` the header
    names for ``HEADER.FIELDS[.NOT]`` (any case).
    """
    data = _section(parse(raw), path, text, fields)
    # RFC 9051 §4.3: a literal is CHAR8, no NUL; like Dovecot we send 0x80 instead
    return None if data is None else data.replace(b"\x00", b"\x80")


def _section(
    msg: Message, path: Sequence[int], text: str | None, fields: Iterable[str]
) -> bytes | None:
    spec = text.upper() if text else None
    if spec is not None and spec not in SECTION_TEXTS:
        raise MimeError(f"unknown section text {text!r}")
    if spec == "MIME" and not path:
        raise MimeError("MIME needs a part number")  # RFC 9051 §6.4.5
    part = find_part(msg, path) if path else msg.root
    if part is None:
        return None
    data = msg.raw
    if spec is None:
        return data if not path else data[part.body_start : part.body_end]
    if spec == "MIME":
        return data[part.start : part.body_start]
    if path:
        if part.kind != RFC822:
            return b""  # HEADER / TEXT of a part that is not a message: empty (Dovecot)
        part = part.children[0]
    if spec == "HEADER":
        return data[part.start : part.body_start]
    if spec == "TEXT":
        return data[part.body_start : part.body_end]
    wanted = {f.lower().encode("utf-8", "surrogateescape") for f in fields}
    keep = spec == "HEADER.FIELDS"
    out = [data[f.start : f.end] for f in part.fields if (f.name.lower() in wanted) == keep]
    out = [line if line.endswith(b"\n") else line + b"\r\n" for line in out]
    # the blank line that ends a header is sent when the header had one; a
    # result is never empty: no header, no match -> just CRLF (Dovecot)
    return b"".join(out) + (b"\r\n" if part.blank_line or not out else b"")


def _base64(data: bytes) -> bytes:
    # RFC 2045 §6.8: ignore characters outside the alphabet; stop at padding
    data = _NOT_BASE64.sub(b"", data.split(b"=", 1)[0])
    data = data[: len(data) - len(data) % 4 if len(data) % 4 == 1 else len(data)]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def decode_body(body: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding (RFC 2045 §6); UnknownCTE if we cannot."""
    enc = (encoding or "7bit").lower()
    if enc in ("7bit", "8bit", "binary"):
        return body
    if enc == "base64":
        return _base64(body)
    if enc == "quoted-printable":
        return binascii.a2b_qp(body)
    raise UnknownCTE(f"unknown Content-Transfer-Encoding {encoding!r}")


def transfer_encoding(part: Part) -> str | None:
    """The part's Content-Transfer-Encoding for BINARY, lower case, or None.

    Unlike BODYSTRUCTURE (RFC 2045 §4: Content-* only in MIME entities), BINARY
    honours the field without MIME-Version, as Dovecot does: a client asking for
    the decoded body of ``Content-Transfer-Encoding: base64`` wants it decoded."""
    fields = part.get(b"content-transfer-encoding")
    if not fields:
        return None
    token = fields[0].value.strip().split(b"(", 1)[0].strip()
    return token.decode("ascii", "replace").lower() or None


def _decodes(part: Part) -> bool:
    return part.kind not in (MULTIPART, RFC822) and transfer_encoding(part) not in _IDENTITY


def _render_entity(msg: Message, part: Part) -> bytes:
    """Header and body of ``part`` with every leaf body decoded and its
    Content-Transfer-Encoding field made ``binary`` (what Dovecot sends for BINARY[])."""
    raw = msg.raw
    header = raw[part.start : part.body_start]
    if _decodes(part):
        field = part.get(b"content-transfer-encoding")[0]
        a, b = field.start - part.start, field.end - part.start
        header = header[:a] + field.name + b": binary\r\n" + header[b:]
    return header + _render_body(msg, part)


def _render_body(msg: Message, part: Part) -> bytes:
    raw = msg.raw
    if part.kind == RFC822 and part.children:
        return _render_entity(msg, part.children[0])
    if part.kind == MULTIPART:
        # the bytes between children (preamble, boundaries, epilogue) stay as they are
        out, pos = [], part.body_start
        for child in part.children:
            out += [raw[pos : child.start], _render_entity(msg, child)]
            pos = child.body_end
        out.append(raw[pos : part.body_end])
        return b"".join(out)
    body = raw[part.body_start : part.body_end]
    return decode_body(body, transfer_encoding(part))


def binary(raw: bytes | Message, path: Sequence[int] = ()) -> bytes | None:
    """RFC 3516 ``BINARY[path]``: the part's body, transfer encoding removed.

    ``BINARY[]`` and the body of a multipart or message/rfc822 part are the
    entity with each leaf decoded (§4.2 "the content transfer encoding removed";
    Dovecot rewrites the leaves' Content-Transfer-Encoding to ``binary``)."""
    msg = parse(raw)
    if not path:
        return _render_entity(msg, msg.root)
    part = find_part(msg, path)
    if part is None:
        return None
    return _render_body(msg, part)


def binary_size(raw: bytes | Message, path: Sequence[int] = ()) -> int | None:
    """RFC 3516 ``BINARY.SIZE[path]``: the length of :func:`binary`."""
    data = binary(raw, path)
    return None if data is None else len(data)
