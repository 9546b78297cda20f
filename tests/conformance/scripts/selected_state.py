"""Selected-state commands (RFC 9051 §6.4, RFC 3501 §6.4): CHECK, CLOSE, UNSELECT
(RFC 3691), EXPUNGE, UID EXPUNGE (RFC 4315), SEARCH, FETCH, STORE, COPY, UID."""

from __future__ import annotations

from tests.conformance.harness import S, Script

SCRIPTS = [
    Script(
        "selected-check-close-unselect",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 CHECK"),
            S("a", "a3 STORE 1 +FLAGS.SILENT (\\Deleted)"),
            S("a", "a4 UNSELECT"),  # no expunge
            S("a", "a5 STATUS INBOX (MESSAGES)"),
            S("a", "a6 EXAMINE INBOX", ordered=False),
            S("a", "a7 CLOSE"),  # read-only: no expunge
            S("a", "a8 STATUS INBOX (MESSAGES)"),
            S("a", "a9 SELECT INBOX", ordered=False),
            S("a", "a10 CLOSE"),  # silent expunge
            S("a", "a11 STATUS INBOX (MESSAGES)"),
            S("a", "a12 CLOSE"),  # not selected any more
            S("a", "a13 UNSELECT"),
        ],
    ),
    Script(
        "selected-expunge",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("a", "a2 STORE 1:3 +FLAGS.SILENT (\\Deleted)"),
            S("a", "a3 UID EXPUNGE 2"),
            S("a", "a4 EXPUNGE"),
            # (FETCH of messages another session expunged: issue 16 class 13, IMAP-B's)
            S("b", "b3 NOOP"),
            S("a", "a5 EXPUNGE"),
        ],
    ),
    Script(
        "selected-fetch-store-search",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)"),
            S("a", "a3 FETCH 2 (ENVELOPE BODYSTRUCTURE)"),
            S("a", "a4 FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject From)] BODY.PEEK[TEXT]<0.6>)"),
            S("a", "a5 FETCH 2 BODY[TEXT]"),  # sets \Seen
            S("a", "a6 FETCH 2 FLAGS"),
            S("a", "a7 STORE 1:2 -FLAGS.SILENT (\\Seen)"),
            S("a", "a8 STORE 3 FLAGS (\\Answered \\Draft)"),
            S("a", "a9 UID STORE 1:* +FLAGS (\\Flagged)"),
            S("a", "a10 SEARCH FLAGGED UNSEEN"),
            S("a", "a11 UID SEARCH FROM carol"),
            S("a", "a12 SEARCH OR ANSWERED SEEN"),
            S("a", "a13 SEARCH SUBJECT third BODY longer"),
            S("a", "a14 FETCH 4 FLAGS"),
            S("a", "a15 UID FETCH 4:9 FLAGS"),
            S("a", "a16 FETCH 1 FOO"),
            S("a", "a17 SEARCH FOO"),
        ],
    ),
]
