"""MIME for IMAP: ENVELOPE, BODYSTRUCTURE, sections, RFC 2047 decoding.

Sans-I/O and stdlib-only.  Parse a raw message once with :func:`parse` (or pass
the bytes to any function, which parses them) and ask for what FETCH needs::

    msg = parse(raw)                      # bare LF -> CRLF: wire form
    envelope(msg)                         # RFC 9051 §7.5.2 ENVELOPE
    bodystructure(msg)                    # BODYSTRUCTURE; extended=False: BODY
    section(msg, (1, 2), "MIME")          # BODY[1.2.MIME]
    section(msg, (), "HEADER.FIELDS", ["From", "To"])
    binary(msg, (1,)), binary_size(msg, (1,))   # RFC 3516
    decode_header("=?utf-8?q?caf=C3=A9?=")  # -> "café"

Values use the IMAP value convention of ``mailtool.protocol.imap.values``
(None = NIL, int, str, list).  Arbitrary bytes always give a structure; only a
bad request (section text, unknown transfer encoding for BINARY) raises
:class:`MimeError`, a :class:`~mailtool.errors.ProtocolError`.
"""

from mailtool.protocol.mime.encoded_words import decode_header
from mailtool.protocol.mime.parser import (
    DEFAULT_LIMITS,
    LEAF,
    MULTIPART,
    RFC822,
    Message,
    MimeError,
    MimeLimits,
    Part,
    UnknownCTE,
    to_crlf,
)
from mailtool.protocol.mime.sections import (
    SECTION_TEXTS,
    binary,
    binary_size,
    decode_body,
    find_part,
    section,
    transfer_encoding,
)
from mailtool.protocol.mime.structure import Content, bodystructure, content, envelope, parse

__all__ = [
    "DEFAULT_LIMITS",
    "LEAF",
    "MULTIPART",
    "RFC822",
    "SECTION_TEXTS",
    "Content",
    "Message",
    "MimeError",
    "MimeLimits",
    "Part",
    "UnknownCTE",
    "binary",
    "binary_size",
    "bodystructure",
    "content",
    "decode_body",
    "decode_header",
    "envelope",
    "find_part",
    "parse",
    "section",
    "to_crlf",
    "transfer_encoding",
]
