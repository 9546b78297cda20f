"""METADATA (RFC 5464): server and mailbox entries, DEPTH, MAXSIZE, NIL for a missing
entry, removal, entries following RENAME and going with DELETE, invalid names."""

from __future__ import annotations

from tests.conformance.harness import S, Script

DIFFERENCES = {
    "metadata-server-shared#1": "RFC 5464 §3.2.1: server /shared entries; Dovecot keeps "
    "them for the administrator (NO [CANNOT]), mailtool keeps every entry per user, so a "
    "user's /shared server entry reaches nobody else",
    "metadata-server-shared#2": "follows from #1: the value mailtool stored",
    "metadata-server-shared#3": "follows from #1: removing it",
    "metadata-server-entries#4": "RFC 5464 §4.2.2: DEPTH infinity returns every entry "
    "below the one named; Dovecot returns nothing below the /private root itself",
}

SCRIPTS = [
    Script(
        "metadata-server-shared",
        [
            S("a", 'm1 SETMETADATA "" (/shared/comment "Server note")'),
            S("a", 'm2 GETMETADATA "" /shared/comment'),
            S("a", 'm3 SETMETADATA "" (/shared/comment NIL)'),
        ],
    ),
    Script(
        "metadata-server-entries",
        [
            S("a", 'm1 SETMETADATA "" (/private/vendor/x/y "v" /private/note "n")'),
            S("a", 'm2 GETMETADATA "" /private/note'),
            S("a", 'm3 GETMETADATA "" (/private/note /private/vendor/x/y /private/missing)'),
            S("a", 'm4 GETMETADATA (DEPTH infinity) "" /private'),
            S("a", 'm5 GETMETADATA (DEPTH 1) "" /private/vendor'),
            S("a", 'm6 GETMETADATA (DEPTH 1) "" /private/vendor/x'),
            S("a", 'm7 SETMETADATA "" (/private/note NIL)'),
            S("a", 'm8 GETMETADATA "" /private/note'),
            S("a", 'm9 GETMETADATA "" /Private/Vendor/X/Y'),
        ],
    ),
    Script(
        "metadata-mailbox-entries",
        [
            S("a", 'm1 SETMETADATA INBOX (/private/comment "in the inbox")'),
            S("a", "m2 GETMETADATA INBOX /private/comment"),
            S("a", 'm3 GETMETADATA "" /private/comment'),
            S("a", "m4 CREATE Work"),
            S("a", 'm5 SETMETADATA Work (/shared/comment "work")'),
            S("a", "m6 RENAME Work Job"),
            S("a", "m7 GETMETADATA Job /shared/comment"),
            S("a", "m8 DELETE Job"),
            S("a", "m9 CREATE Job"),
            S("a", "m10 GETMETADATA Job /shared/comment"),
            S("a", "m11 GETMETADATA Nonexistent /shared/comment"),
        ],
    ),
    Script(
        "metadata-maxsize",
        [
            S("a", 'm1 SETMETADATA INBOX (/private/a "1" /private/a/b "4444")'),
            S("a", "m2 GETMETADATA (MAXSIZE 2 DEPTH 1) INBOX /private/a"),
            S("a", "m3 GETMETADATA (MAXSIZE 10 DEPTH 1) INBOX /private/a"),
        ],
    ),
    Script(
        "metadata-bad-names",
        [
            S("a", 'm1 SETMETADATA "" (/other/x "v")'),
            S("a", 'm2 SETMETADATA "" (/private/x* "v")'),
            S("a", 'm3 GETMETADATA "" /private/%'),
            S("a", 'm4 SETMETADATA "" (/private//x "v")'),
            S("a", "m5 GETMETADATA (DEPTH 2) INBOX /private/x"),
        ],
    ),
]
