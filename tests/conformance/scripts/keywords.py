"""Class 2 of issue 16: a keyword new to the mailbox is announced with untagged FLAGS
and ``OK [PERMANENTFLAGS ...]`` before any FETCH shows it (RFC 3501 §7.2.6, RFC 9051
§7.3.5: FLAGS lists the flags applicable in the mailbox), whether STORE, APPEND, COPY
or MOVE brought it, and whichever session did."""

from __future__ import annotations

from tests.conformance.harness import THREE, Message, S, Script

SCRIPTS = [
    Script(
        "keywords-store",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 STORE 1 +FLAGS ($Work)"),
            S("a", "a3 STORE 2 +FLAGS.SILENT ($Other)"),
            S("a", "a4 FETCH 2 FLAGS"),
            S("a", "a5 STORE 1:2 -FLAGS ($Work $Other)"),
            S("a", "a6 STORE 3 FLAGS (\\Flagged $Work NonDollar)"),
            S("a", "a7 NOOP"),
        ],
    ),
    Script(
        "keywords-other-session",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 2 +FLAGS ($Label1)"),
            S("a", "a2 NOOP"),
            S("a", "a3 FETCH 2 FLAGS"),
        ],
    ),
    Script(
        "keywords-append-copy-move",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 APPEND INBOX ($Appended) {5+}", wait=None),
            S("b", "hello", wait="b1"),
            S("a", "a2 NOOP"),
            S("b", "b2 SELECT Work", ordered=False),
            S("b", "b3 COPY 1 INBOX"),
            S("a", "a3 NOOP"),
            S("b", "b4 MOVE 2 INBOX"),
            S("a", "a4 NOOP"),
            S("a", "a5 FETCH 4:* FLAGS"),
        ],
        seed={
            "INBOX": THREE,
            "Work": [
                Message("w1", flags=("$Copied",)),
                Message("w2", flags=("$Moved", "\\Seen")),
            ],
        },
    ),
]
