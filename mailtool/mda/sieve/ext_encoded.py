"""``encoded-character`` (RFC 5228 §2.4.2.4): ``${hex:..}`` and ``${unicode:..}`` in strings.

Decoded once, after ``require`` is read and before anything else looks at the
strings, so every later stage (variables, comparisons, actions) sees the
characters. A sequence that does not follow the grammar is left as it is
(§2.4.2.4: "not an encoded character"); one that follows it but decodes to
invalid UTF-8 or to a code point outside Unicode is an error naming the
string's line and column.
"""

from __future__ import annotations

import re

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.parser import Node, StringList

# RFC 5228 §2.4.2.4: "${hex:" hex-pair-seq "}" / "${unicode:" unicode-hex-seq "}",
# blank = WSP / CRLF
_ENCODED = re.compile(
    r"\$\{(hex|unicode):[ \t\r\n]*([0-9A-Fa-f]+(?:[ \t\r\n]+[0-9A-Fa-f]+)*)[ \t\r\n]*\}",
    re.IGNORECASE,
)


class EncodingError(ValueError):
    """The sequence follows the grammar but is not a character (§2.4.2.4: an error)."""


def decode(text: str) -> str:
    """``text`` with its encoded characters decoded; raises :class:`EncodingError`."""
    if "${" not in text:
        return text
    out = bytearray()
    pos = 0
    for m in _ENCODED.finditer(text):
        items = m.group(2).split()
        kind = m.group(1).lower()
        if kind == "hex" and any(len(item) > 2 for item in items):
            continue  # hex-pair = 1*2HEXDIG: not an encoded sequence, left as written
        out += text[pos : m.start()].encode("utf-8", "surrogatepass")
        if kind == "hex":
            out += bytes(int(item, 16) for item in items)
        else:
            for item in items:
                code = int(item, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise EncodingError(f"${{unicode:{item}}} is not a Unicode character")
                out += chr(code).encode("utf-8")
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogatepass")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError("${hex:..} does not decode to UTF-8") from None


def decode_tree(nodes: list[Node]) -> None:
    """Decode every string of every command and test in ``nodes``, in place."""
    for node in nodes:
        for arg in node.args:
            if isinstance(arg, StringList):
                try:
                    arg.values = [decode(v) for v in arg.values]
                except EncodingError as exc:
                    raise SieveSyntaxError(str(exc), arg.line, arg.column) from None
        decode_tree(node.tests)
        if node.block:
            decode_tree(node.block)
