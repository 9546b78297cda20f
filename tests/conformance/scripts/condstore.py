"""Class 7 of issue 16 and QRESYNC: CONDSTORE enabling (RFC 7162 §3.1: the first
CONDSTORE-enabling command on a selected mailbox returns ``OK [HIGHESTMODSEQ n]``),
FETCH MODSEQ / CHANGEDSINCE, STORE UNCHANGEDSINCE and MODIFIED, SEARCH MODSEQ and
ESEARCH with MODSEQ (RFC 7162 §3.1.5, RFC 4731), STATUS HIGHESTMODSEQ, QRESYNC SELECT
(RFC 7162 §3.2.5) and VANISHED."""

from __future__ import annotations

from tests.conformance.harness import THREE, S, Script

SCRIPTS = [
    Script(
        "condstore-enabling-fetch",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 FETCH 1 (FLAGS MODSEQ)"),
            S("a", "a3 STORE 2 +FLAGS (\\Flagged)"),
            S("a", "a4 NOOP"),
        ],
    ),
    Script(
        "condstore-enabling-search",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 SEARCH MODSEQ 1"),
            S("a", "a3 SEARCH RETURN (ALL MIN MAX COUNT) MODSEQ 1"),
            S("a", "a4 UID SEARCH RETURN (MAX) MODSEQ 1 UNSEEN"),
        ],
    ),
    Script(
        "condstore-enabling-store",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Answered)"),
            S("a", "a3 FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"),
        ],
    ),
    Script(
        "condstore-enabling-select-param",
        [
            S(
                "a",
                "a1 SELECT INBOX (CONDSTORE)",
                ordered=False,
                capture={"ms": r"HIGHESTMODSEQ (\d+)"},
            ),
            S("a", "a2 STORE 2 +FLAGS (\\Seen)", capture={"ms2": r"MODSEQ \((\d+)\)"}),
            S("a", "a3 FETCH 1:* (FLAGS) (CHANGEDSINCE <<ms>>)"),
            S("a", "a4 STORE 3 (UNCHANGEDSINCE <<ms>>) +FLAGS (\\Flagged)"),
            S("a", "a5 STORE 2 (UNCHANGEDSINCE <<ms>>) +FLAGS (\\Flagged)"),
            S("a", "a6 SEARCH MODSEQ <<ms2>>"),
            S("a", "a7 STATUS Archive (HIGHESTMODSEQ MESSAGES)"),
            S("a", "a8 UID FETCH 1:* (UID) (CHANGEDSINCE 1 VANISHED)"),
        ],
        seed={"INBOX": THREE, "Archive": ()},
    ),
    Script(
        "condstore-enable-command",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 ENABLE CONDSTORE"),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 1 +FLAGS ($Seen2)"),
            S("a", "a3 NOOP"),
        ],
    ),
    Script(
        "qresync-select",
        [
            S("a", "a1 ENABLE QRESYNC"),
            S(
                "a",
                "a2 SELECT INBOX",
                ordered=False,
                capture={"v": r"UIDVALIDITY (\d+)", "ms": r"HIGHESTMODSEQ (\d+)"},
            ),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 1 +FLAGS (\\Flagged)"),
            S("b", "b3 STORE 3 +FLAGS.SILENT (\\Deleted)"),
            S("b", "b4 EXPUNGE"),
            S("a", "a3 UNSELECT"),
            S("a", "a4 SELECT INBOX (QRESYNC (<<v>> <<ms>>))", ordered=False),
            S("a", "a5 UNSELECT"),
            S("a", "a6 SELECT INBOX (QRESYNC (<<v>> <<ms>> 1:3))", ordered=False),
            S("a", "a7 EXAMINE INBOX (QRESYNC (1 1))", ordered=False),
            S("a", "a8 UID FETCH 1:* FLAGS (CHANGEDSINCE <<ms>> VANISHED)"),
        ],
    ),
    Script(
        "qresync-without-enable",
        [
            S("a", "a1 SELECT INBOX (QRESYNC (1 1))"),
            S("a", "a2 NOOP"),
        ],
    ),
]
