"""Authenticated-state commands (RFC 9051 §6.3, RFC 3501 §6.3): SELECT, EXAMINE,
CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND."""

from __future__ import annotations

from tests.conformance.harness import THREE, Message, S, Script

SCRIPTS = [
    Script(
        "auth-select-examine",
        [
            S("a", "a1 EXAMINE INBOX", ordered=False),
            S("a", "a2 SELECT INBOX", ordered=False),  # closes the previous one
            S("a", "a3 SELECT Nowhere"),  # a failed SELECT leaves no mailbox selected
            S("a", "a4 FETCH 1 FLAGS"),
            S("a", "a5 SELECT inbox", ordered=False),  # INBOX in any case
            S("a", "a6 EXAMINE Archive", ordered=False),
            S("a", "a7 STORE 1 +FLAGS (\\Seen)"),
        ],
        seed={"INBOX": THREE, "Archive": [Message("old", flags=("\\Seen", "$Old"))]},
    ),
    Script(
        "auth-create-delete-rename",
        [
            S("a", "a1 CREATE Work"),
            S("a", "a2 CREATE Work"),  # exists
            S("a", "a3 CREATE Work/Projects/2026"),  # superior levels
            S("a", "a4 CREATE Trailing/"),
            S("a", 'a5 LIST "" "*"', ordered=False),
            S("a", "a6 RENAME Work Job"),  # children move along
            S("a", "a7 RENAME Nowhere Elsewhere"),
            S("a", "a8 DELETE Job/Projects/2026"),
            S("a", "a9 DELETE Nowhere"),
            S("a", "a10 DELETE INBOX"),
            S("a", "a11 CREATE INBOX"),
            S("a", 'a12 LIST "" "%"', ordered=False),
            S("a", "a13 RENAME Job Archive"),  # target exists
            S("a", "a14 RENAME INBOX Saved"),  # moves INBOX's messages, INBOX stays
        ],
    ),
    Script(
        "auth-subscribe-lsub-status",
        [
            S("a", "a1 SUBSCRIBE Archive"),
            S("a", "a2 UNSUBSCRIBE Archive"),
            S("a", "a3 SUBSCRIBE Archive"),
            S("a", 'a4 LSUB "" "*"', ordered=False),
            S("a", 'a5 LSUB "" "Arch%"', ordered=False),
            S("a", "a6 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"),
            S("a", "a7 STATUS Archive (MESSAGES SIZE)"),
            S("a", "a8 STATUS Nowhere (MESSAGES)"),
            S("a", "a9 STATUS INBOX (FOO)"),
            S("a", "a10 STATUS INBOX ()"),
        ],
        seed={"INBOX": THREE, "Archive": [Message("old")]},
    ),
    Script(
        "auth-append",
        [
            S("a", 'a1 APPEND INBOX (\\Seen $Work) "01-Feb-2026 12:00:00 +0100" {5}', wait="+"),
            S("a", "hello", wait="a1"),
            S("a", "a2 APPEND Nowhere {5+}", wait=None),
            S("a", "hello", wait="a2"),
            S("a", "a5 APPEND INBOX {0+}", wait=None),
            S("a", "", wait="a5"),
            S("a", "a6 SELECT INBOX", ordered=False),
            S("a", "a7 FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)"),
        ],
        seed={"INBOX": []},
    ),
]

DIFFERENCES = {
    "auth-create-delete-rename#5": "RFC 9051 §6.3.4: the server SHOULD create the superior "
    "names CREATE needs (mailtool does); Dovecot's Maildir++ leaves them \\Noselect",
    "auth-create-delete-rename#13": "RFC 9051 §6.3.6: renaming to an existing name is an "
    "error (mailtool NO [ALREADYEXISTS]); Dovecot merges into the special-use Archive",
    "auth-create-delete-rename#14": "RFC 9051 §6.3.6: RENAME INBOX moves its messages to "
    "the new name and leaves INBOX empty (mailtool); Dovecot refuses (NO [CANNOT])",
    "auth-select-examine#7": "RFC 9051 §6.3.3: nothing may change in an EXAMINEd mailbox; "
    "mailtool refuses STORE with NO [READ-ONLY], Dovecot ignores it with OK",
}
