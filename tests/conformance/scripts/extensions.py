"""ENABLE (RFC 5161), ID (RFC 2971), NAMESPACE (RFC 2342), IDLE (RFC 2177), UNSELECT,
ESEARCH (RFC 4731), SEARCHRES (RFC 5182), LITERAL+/LITERAL- (RFC 7888), SASL-IR
(RFC 4959), UIDPLUS APPENDUID (RFC 4315)."""

from __future__ import annotations

import base64

from tests.conformance.harness import PASSWORD, S, Script

_PLAIN = base64.b64encode(f"\0extensions-sasl-ir@example.test\0{PASSWORD}".encode()).decode()

SCRIPTS = [
    Script(
        "extensions-enable-id-namespace",
        [
            S("a", "a1 ENABLE CONDSTORE"),
            S("a", "a2 ENABLE CONDSTORE"),  # already: ENABLED lists nothing
            S("a", "a3 ENABLE FOO"),
            S("a", 'a4 ID ("name" "conformance" "version" "1")'),
            S("a", "a5 ID NIL"),
            S("a", "a6 NAMESPACE"),
            S("x", None, wait=None, name="greeting"),
            S("x", "x1 ENABLE CONDSTORE"),  # not authenticated
            S("x", "x2 ID NIL"),
        ],
        raw=("x",),
    ),
    Script(
        "extensions-idle",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 IDLE", wait="+"),
            S("b", "b1 APPEND INBOX {5+}", wait=None),
            S("b", "hello", wait="b1"),
            S("a", None, wait=r"re:^\* 4 RECENT"),
            S("b", "b2 SELECT INBOX", ordered=False),
            S("b", "b3 STORE 1 +FLAGS (\\Flagged)"),
            S("a", None, wait=r"re:^\* 1 FETCH"),
            S("a", "DONE", wait="a2"),
            S("a", "a3 IDLE", wait="+"),
            S("a", "NOTDONE", wait="a3"),
            S("a", "a4 NOOP"),
        ],
    ),
    Script(
        "extensions-esearch-searchres",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN"),
            S("a", "a3 UID SEARCH RETURN () ALL"),
            S("a", "a4 SEARCH RETURN (COUNT) SUBJECT nothing-matches"),
            S("a", "a5 SEARCH RETURN (SAVE) UNSEEN"),
            S("a", "a6 FETCH $ (UID)"),
            S("a", "a7 SEARCH RETURN (SAVE MIN) SEEN"),
            S("a", "a8 UID SEARCH $"),
            S("a", "a9 SEARCH RETURN (FOO) ALL"),
        ],
    ),
    Script(
        "extensions-literals-uidplus",
        [
            S("a", "a1 APPEND INBOX {5+}", wait=None),
            S("a", "hello", wait="a1"),
            S("a", "a2 APPEND INBOX {5}", wait="+"),
            S("a", "hello", wait="a2"),
            S("a", "a3 CREATE {4}", wait="+"),
            S("a", "Work", wait="a3"),
            S("a", "a4 SEARCH SUBJECT {6+}", wait=None),
            S("a", "second", wait="a4"),
            S("a", "a5 STATUS {5+}", wait=None),
            S("a", "INBOX (MESSAGES)", wait="a5"),
        ],
    ),
    Script(
        "extensions-sasl-ir",
        [
            S("x", None, wait=None, name="greeting"),
            S("x", f"x1 AUTHENTICATE PLAIN {_PLAIN}"),
            S("x", "x2 NOOP"),
            S("y", None, wait=None, name="greeting-y"),
            S("z", None, wait=None, name="greeting-z"),
            S("y", "y1 AUTHENTICATE PLAIN", wait="+"),
            S("y", _PLAIN, wait="y1"),
            S("z", "z1 AUTHENTICATE PLAIN", wait="+"),
            S("z", "*", wait="z1"),
            S("z", "z2 AUTHENTICATE PLAIN =", wait="z2"),
        ],
        raw=("x", "y", "z"),
    ),
]

_PRELOGIN = (
    "RFC 9051 §7.2.2: Dovecot lists fewer capabilities before login (login_capability), "
    "mailtool the whole set"
)
_ENABLED = (
    "RFC 5161 §3.1: ENABLED lists what this command enabled: mailtool sends it empty, "
    "Dovecot repeats what was on already, or sends none"
)

DIFFERENCES = {
    "extensions-sasl-ir#greeting": _PRELOGIN,
    "extensions-sasl-ir#greeting-y": _PRELOGIN,
    "extensions-sasl-ir#greeting-z": _PRELOGIN,
    "extensions-sasl-ir#10": "RFC 4959 §3: '=' is an empty initial response; an empty "
    "PLAIN message is malformed (RFC 4616 §2): mailtool BAD (arguments invalid, RFC 9051 "
    "§7.1.3), Dovecot NO [AUTHENTICATIONFAILED]",
    "extensions-enable-id-namespace#2": _ENABLED,
    "extensions-enable-id-namespace#3": _ENABLED,
    "extensions-enable-id-namespace#greeting": _PRELOGIN,
    "extensions-enable-id-namespace#8": "RFC 5161 §3.1: ENABLE is valid in the "
    "authenticated state only: mailtool BAD, Dovecot accepts it before login",
}
