"""SEARCH FROM/TO/CC/BCC on addresses in every header form, and SORT by the first
address (issue 16 class 9): display names, angle brackets, group syntax, RFC 2047
encoded words, comments; SORT (FROM)/(TO)/(CC) by RFC 5256 addr-mailbox."""

from __future__ import annotations

from tests.conformance.harness import Message, S, Script

SEED = {
    "INBOX": (
        Message("plain", sender="zed@example.test", to="Bob <bob@example.test>"),
        Message(
            "encoded",
            sender="=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.test>",
            to="undisclosed-recipients:;",
            extra_headers='Cc: Team: amy@example.test, "Carl, C." <carl@example.test>;\r\n',
        ),
        Message(
            "comment",
            sender="ann@example.test (Ann Admin)",
            to='"Quoted Name" <quinn@example.test>, yves@example.test',
            extra_headers="Cc: <bare@example.test>\r\nBcc: hidden@example.test\r\n",
        ),
        Message(
            "multiple",
            sender="Mike <mike@example.test>, Nora <nora@example.test>",
            to="a-list: ;",
            extra_headers="Cc: =?iso-8859-1?q?Fran=E7ois?= <francois@example.test>\r\n",
        ),
    )
}

SCRIPTS = [
    Script(
        "search-addresses",
        [
            S("a", "s1 EXAMINE INBOX", ordered=False),
            S("a", "s2 SEARCH FROM jorg@example.test"),
            S("a", "s3 SEARCH FROM <jorg@example.test>"),
            S("a", 's4 SEARCH FROM "Jorg"'),
            S("a", b"s5 SEARCH CHARSET UTF-8 FROM {6+}\r\nJ\xc3\xb6rg M"),
            S("a", 's6 SEARCH FROM "Ann Admin"'),
            S("a", "s7 SEARCH FROM nora"),
            S("a", 's8 SEARCH CC "Team"'),
            S("a", "s9 SEARCH CC carl@example.test"),
            S("a", 's10 SEARCH CC "Carl, C."'),
            S("a", "s11 SEARCH CC bare@example.test"),
            S("a", b"s12 SEARCH CHARSET UTF-8 CC {8+}\r\nFran\xc3\xa7ois"),
            S("a", "s13 SEARCH TO undisclosed-recipients"),
            S("a", 's14 SEARCH TO "Quoted Name"'),
            S("a", "s15 SEARCH BCC hidden"),
            S("a", "s16 SEARCH TO example.test"),
            S("a", "s17 UID SEARCH OR FROM zed TO quinn"),
            S("a", "s18 SEARCH NOT FROM example.test"),
        ],
        seed=SEED,
    ),
    Script(
        "sort-addresses",
        [
            S("a", "o1 EXAMINE INBOX", ordered=False),
            S("a", "o2 SORT (FROM) UTF-8 ALL"),
            S("a", "o3 SORT (TO) UTF-8 ALL"),
            S("a", "o4 SORT (CC) UTF-8 ALL"),
            S("a", "o5 SORT (REVERSE FROM) UTF-8 ALL"),
            S("a", "o6 UID SORT (CC FROM) UTF-8 ALL"),
            S("a", "o7 SORT (DISPLAYFROM) UTF-8 ALL"),
            S("a", "o8 SORT (DISPLAYTO) UTF-8 ALL"),
        ],
        seed=SEED,
    ),
]
