"""Class 3 of issue 16: mailbox names (RFC 3501 §5.1.3, RFC 9051 §5.1): a name that is
not valid modified UTF-7 is refused with NO (not BAD, never a disconnect); LIST with
such a pattern keeps the connection; valid mUTF-7 names round-trip."""

from __future__ import annotations

from tests.conformance.harness import S, Script

SCRIPTS = [
    Script(
        "names-invalid-mutf7",
        [
            S("a", 'a1 CREATE "bad&name"'),
            S("a", 'a2 CREATE "bad&AGE"'),
            S("a", 'a3 CREATE "bad&AGE-"'),  # non-minimal: "a" needs no base64
            S("a", 'a4 SELECT "x&Jjo"'),
            S("a", 'a5 STATUS "x&" (MESSAGES)'),
            S("a", 'a6 LIST "" "x&Jjo"'),
            S("a", 'a7 LIST "" "&"'),
            S("a", 'a8 RENAME Archive "y&"'),
            S("a", 'a9 DELETE "z&Jjo"'),
            S("a", 'a10 SUBSCRIBE "q&"'),
            S("a", "a11 NOOP"),
        ],
        seed={"INBOX": []},
    ),
    Script(
        "names-valid-mutf7",
        [
            S("a", 'a1 CREATE "Caf&AOk-"'),
            S("a", 'a2 CREATE "&Jjo-!"'),
            S("a", 'a3 CREATE "A&-B"'),
            S("a", 'a4 LIST "" "*"', ordered=False),
            S("a", 'a5 SELECT "Caf&AOk-"', ordered=False),
            S("a", 'a6 STATUS "A&-B" (MESSAGES)'),
            S("a", 'a7 DELETE "&Jjo-!"'),
        ],
        seed={"INBOX": []},
    ),
]
