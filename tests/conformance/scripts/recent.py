"""Class 1 of issue 16: \\Recent (RFC 3501 §2.3.2, §6.3.1, §7.3.2, §6.4.4 NEW/OLD/RECENT).

One session gets \\Recent for a message (the first to SELECT its mailbox after it
arrived); EXAMINE does not take it away (RFC 3501 §6.3.2); STATUS RECENT counts the
messages no session has seen yet; a message arriving while a session has its mailbox
selected is \\Recent for that session, announced with EXISTS and RECENT.
"""

from __future__ import annotations

from tests.conformance.harness import THREE, Message, S, Script

SCRIPTS = [
    Script(
        "recent-select-status-search",
        [
            S("b", "b1 STATUS INBOX (MESSAGES RECENT UNSEEN)"),
            S("b", "b2 EXAMINE INBOX", ordered=False),
            S("b", "b3 FETCH 1:* FLAGS"),
            S("b", "b4 SEARCH RECENT"),
            S("a", "a1 SELECT INBOX", ordered=False),  # takes \Recent from here on
            S("a", "a2 FETCH 1:* FLAGS"),
            S("a", "a3 SEARCH RECENT"),
            S("a", "a4 SEARCH NEW"),
            S("a", "a5 SEARCH OLD"),
            S("a", "a6 SEARCH NOT RECENT"),
            S("a", "a7 STORE 1 +FLAGS (\\Recent)"),
            S("a", "a8 STATUS INBOX (RECENT)"),
            S("b", "b5 STATUS INBOX (RECENT)"),
            S("c", "c1 SELECT INBOX", ordered=False),  # \Recent is gone for everyone else
            S("c", "c2 FETCH 1:* FLAGS"),
            S("c", "c3 SEARCH RECENT"),
            S("a", "a9 UNSELECT"),
            S("a", "a10 SELECT INBOX", ordered=False),
            S("a", "a11 SEARCH RECENT"),
        ],
    ),
    Script(
        "recent-new-arrival",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 APPEND INBOX {5+}", wait=None),
            S("b", "hello", wait="b1"),
            S("a", "a2 NOOP"),
            S("a", "a3 FETCH 4 FLAGS"),
            S("a", "a4 SEARCH RECENT"),
            S("b", "b2 STATUS INBOX (MESSAGES RECENT)"),
            S("a", "a5 COPY 1:2 INBOX"),
            S("a", "a6 NOOP"),
            S("a", "a7 FETCH 5:6 FLAGS"),
            S("a", "a8 SEARCH RECENT"),
            S("a", "a9 COPY 1 Archive"),
            S("a", "a10 STATUS Archive (RECENT)"),
        ],
        seed={"INBOX": THREE, "Archive": []},
    ),
    Script(
        "recent-imap4rev2-hidden",
        [
            S("a", "a1 ENABLE IMAP4rev2"),
            S("a", "a2 SELECT INBOX", ordered=False),
            S("a", "a3 FETCH 1:* FLAGS"),
        ],
        seed={"INBOX": [Message("one")]},
    ),
]

DIFFERENCES = {
    "recent-imap4rev2-hidden#1": "RFC 9051: Dovecot 2.3 is IMAP4rev1 only (ENABLE IMAP4rev2 "
    "enables nothing there); mailtool enables it",
    "recent-imap4rev2-hidden#2": "RFC 9051 §6.3.2: an IMAP4rev2 session gets no RECENT (and "
    "the mailbox's LIST line); Dovecot 2.3 answers as IMAP4rev1",
    "recent-imap4rev2-hidden#3": "RFC 9051 §2.3.2: no \\Recent for an IMAP4rev2 session",
}
