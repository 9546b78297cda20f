"""COMPRESS=DEFLATE (RFC 4978): who may use it and the answers around it. What follows
the tagged OK is DEFLATE, which this text harness does not speak: the compressed
session itself is tested in tests/mra/imap/test_compress.py."""

from __future__ import annotations

from tests.conformance.harness import S, Script

DIFFERENCES = {
    "compress-before-login#greeting": "RFC 9051 §7.2.2 lets the list change after login: "
    "Dovecot lists a short set before it (login_capability), mailtool the whole set",
    "compress-deflate#1": "RFC 4978 §3: an unknown mechanism is an 'unknown argument', BAD "
    "(mailtool); Dovecot answers NO",
}

SCRIPTS = [
    Script(
        "compress-before-login",
        [S("x", None, wait=None, name="greeting"), S("x", "c1 COMPRESS DEFLATE")],
        raw=("x",),
    ),
    Script(
        "compress-deflate",
        [
            S("a", "c1 COMPRESS GZIP"),
            S("a", "c2 COMPRESS"),
            S("a", "c3 COMPRESS DEFLATE"),
        ],
    ),
]
