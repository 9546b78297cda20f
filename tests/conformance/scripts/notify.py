"""NOTIFY (RFC 5465): a second session changes things and the first, with NOTIFY SET,
is told without sending a command (``wait="re:..."`` reads a pushed line)."""

from __future__ import annotations

from tests.conformance.harness import THREE, S, Script

NEW_EXPUNGE = "(MessageNew MessageExpunge)"

DIFFERENCES = {
    "notify-rules#1": "RFC 5465 §8: unsupported-events-code = BADEVENT SP ( event *(SP "
    "event) ): mailtool lists the events it supports in parentheses; Dovecot names the "
    "refused event, without them",
    "notify-rules#8": "RFC 5465 §8: notify-set = SET [status-indicator] SP event-groups, one "
    "group at least: BAD (mailtool); Dovecot accepts an empty SET",
}

SCRIPTS = [
    Script(
        "notify-status-of-other-mailboxes",
        [
            S("a", f"n1 NOTIFY SET (personal {NEW_EXPUNGE})"),
            S("b", "b1 APPEND Archive {5}", wait="+"),
            S("b", "hello", wait="b1"),
            S("a", None, wait=r"re:^\* STATUS Archive"),
            S("b", "b2 SELECT Archive", ordered=False),
            S("b", "b3 STORE 1 +FLAGS.SILENT (\\Deleted)"),
            S("b", "b4 EXPUNGE"),
            S("a", None, wait=r"re:^\* STATUS Archive"),
            S("a", "n2 NOTIFY NONE"),
        ],
    ),
    Script(
        "notify-set-status",
        [
            S(
                "a",
                f"n1 NOTIFY SET STATUS (mailboxes (Archive Trash) {NEW_EXPUNGE})",
                ordered=False,
            ),
        ],
        seed={"Archive": THREE},
    ),
    Script(
        "notify-selected-in-idle",
        [
            S("a", "s1 SELECT INBOX", ordered=False),
            S(
                "a",
                f"n1 NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
                f"(mailboxes Archive {NEW_EXPUNGE})",
            ),
            S("a", "i1 IDLE", wait="+"),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 1 +FLAGS.SILENT (\\Flagged)"),
            S("a", None, wait=r"re:^\* 1 FETCH"),
            S("b", "b4 APPEND Archive {5}", wait="+"),
            S("b", "hello", wait="b4"),
            S("a", None, wait=r"re:^\* STATUS Archive"),
            S("a", "DONE", wait="i1"),
        ],
        seed={"INBOX": THREE},
    ),
    Script(
        "notify-mailbox-names",
        [
            S("a", "n1 NOTIFY SET (personal (MailboxName SubscriptionChange))"),
            S("b", "b1 CREATE Fresh"),
            S("a", None, wait=r"re:^\* LIST .*Fresh"),
            S("b", "b2 SUBSCRIBE Fresh"),
            S("a", None, wait=r"re:^\* LIST .*Fresh"),
            S("b", "b3 UNSUBSCRIBE Fresh"),
            S("a", None, wait=r"re:^\* LIST .*Fresh"),
            S("b", "b4 DELETE Fresh"),
            S("a", None, wait=r"re:^\* LIST .*Fresh"),
        ],
    ),
    Script(
        "notify-rules",
        [
            S("a", "n1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))"),
            S("a", "n2 NOTIFY SET (selected (MessageNew))"),
            S("a", "n3 NOTIFY SET (selected (FlagChange))"),
            S("a", "n3b NOTIFY SET (personal (MessageNew))"),
            S("a", "n3c NOTIFY SET (subscribed (FlagChange MailboxName))"),
            S("a", "n4 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))"),
            S("a", "n5 NOTIFY SET (everything (MessageNew MessageExpunge))"),
            S("a", "n6 NOTIFY SET"),
            S("a", "n7 NOTIFY NONE"),
        ],
    ),
]
