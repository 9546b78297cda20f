"""UTF-8 header text (issue 16 class 11, RFC 6855 §6): a client that did not ENABLE
UTF8=ACCEPT gets encoded words in ENVELOPE, BODYSTRUCTURE and header sections (RFC
6857 downgrading); after ENABLE UTF8=ACCEPT the stored UTF-8 as it is. Dovecot 2.3 has
no UTF8=ACCEPT and sends the raw bytes to every client."""

from __future__ import annotations

from tests.conformance.harness import Message, S, Script

SEED = {
    "INBOX": (
        Message(
            "caf\u00e9 \u00fcber alles",
            sender="J\u00f6rg M\u00fcller <jorg@example.test>",
            extra_headers="MIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset=utf-8; name="r\u00e9sum\u00e9.txt"\r\n',
            body="Gr\u00fc\u00dfe",
        ),
        Message("plain ascii"),
    )
}

_DOWNGRADED = (
    "RFC 6855 §6 / RFC 6857: to a client that did not enable UTF8=ACCEPT mailtool sends "
    "UTF-8 header text as RFC 2047 encoded words; Dovecot 2.3 sends the raw bytes"
)

DIFFERENCES = {
    "utf8-headers#2": _DOWNGRADED,
    "utf8-headers#3": _DOWNGRADED,
    "utf8-headers#5": "RFC 6855 §3: mailtool enables UTF8=ACCEPT ('* ENABLED UTF8=ACCEPT'); "
    "Dovecot 2.3 does not offer it (no ENABLED line)",
    "utf8-headers#7": "RFC 6855 §3: after ENABLE UTF8=ACCEPT a quoted string may hold UTF-8 "
    '(mailtool: "résumé.txt"); Dovecot, without UTF8=ACCEPT, sends it as a literal',
}

SCRIPTS = [
    Script(
        "utf8-headers",
        [
            S("a", "u1 EXAMINE INBOX", ordered=False),
            S("a", "u2 FETCH 1 (ENVELOPE BODYSTRUCTURE)"),
            S("a", "u3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] RFC822.HEADER)"),
            S("a", "u4 FETCH 2 (ENVELOPE BODY.PEEK[HEADER])"),
            S("b", "v1 ENABLE UTF8=ACCEPT"),
            S("b", "v2 EXAMINE INBOX", ordered=False),
            S("b", "v3 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"),
            S("a", "u5 FETCH 1 BODY.PEEK[TEXT]"),
        ],
        seed=SEED,
    ),
]
