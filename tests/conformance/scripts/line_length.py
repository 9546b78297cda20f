"""Class 4 of issue 16: command lines up to 64 KB are accepted (Dovecot's
imap_max_line_length); a longer line is refused with BAD and the session goes on
(RFC 9051 §4: literals are not part of the line, so a big APPEND is no long line)."""

from __future__ import annotations

from tests.conformance.harness import S, Script

_PARAMS = " ".join(f'"key{i:04d}" "{"v" * 20}"' for i in range(30))
_LONG_SEARCH = "UID SEARCH UID " + ",".join(str(i) for i in range(1, 9000, 2))
_FIELDS = " ".join(f"X-Header-{i:05d}" for i in range(2500))
_LONG_FETCH = f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({_FIELDS})])"
_TOO_LONG = "SEARCH " + "SUBJECT " + "x" * 70_000

SCRIPTS = [
    Script(
        "line-length",
        [
            S("a", f"a1 ID ({_PARAMS})"),
            S("a", "a2 SELECT INBOX", ordered=False),
            S("a", f"a3 {_LONG_SEARCH}"),
            S("a", f"a4 {_LONG_FETCH}"),
            S("a", f"a5 {_TOO_LONG}", wait="re:^(a5|\\* BYE) "),
            S("a", "a6 NOOP"),
        ],
    ),
]
