"""SASLprep (RFC 4013), the string preparation SCRAM applies to passwords and
PLAIN servers should apply before comparing (RFC 4616 §2), with the stdlib's
``stringprep`` tables."""

from __future__ import annotations

import stringprep
import unicodedata

from .base import SaslMalformed

_PROHIBITED = (
    stringprep.in_table_c12,  # non-ASCII space
    stringprep.in_table_c21,  # ASCII control
    stringprep.in_table_c22,  # non-ASCII control
    stringprep.in_table_c3,  # private use
    stringprep.in_table_c4,  # non-character code points
    stringprep.in_table_c5,  # surrogate codes
    stringprep.in_table_c6,  # inappropriate for plain text
    stringprep.in_table_c7,  # inappropriate for canonical representation
    stringprep.in_table_c8,  # change display properties / deprecated
    stringprep.in_table_c9,  # tagging characters
)


def saslprep(text: str, *, allow_unassigned: bool = True) -> str:
    """RFC 4013 §2. ``allow_unassigned`` is True for "queries" (what a user
    typed) and False for "stored strings" (RFC 3454 §7)."""
    # §2.1 mapping: non-ASCII spaces to SPACE, "commonly mapped to nothing" removed
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c)
    )
    # §2.2 normalization: form KC
    norm = unicodedata.normalize("NFKC", mapped)
    if not norm:
        return norm
    for c in norm:
        if any(check(c) for check in _PROHIBITED):  # §2.3
            raise SaslMalformed("prohibited character in SASLprep input")
        if not allow_unassigned and stringprep.in_table_a1(c):  # §2.5
            raise SaslMalformed("unassigned code point in SASLprep input")
    # §2.4 bidirectional characters, RFC 3454 §6
    if any(stringprep.in_table_d1(c) for c in norm):
        if any(stringprep.in_table_d2(c) for c in norm):
            raise SaslMalformed("mixed-direction string in SASLprep input")
        if not (stringprep.in_table_d1(norm[0]) and stringprep.in_table_d1(norm[-1])):
            raise SaslMalformed("right-to-left string must start and end right-to-left")
    return norm
