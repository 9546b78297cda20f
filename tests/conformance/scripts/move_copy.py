"""Class 6 of issue 16 and UIDPLUS: COPY, MOVE (RFC 6851) and their UID forms.

MOVE sends ``* OK [COPYUID ...]`` untagged before its EXPUNGEs (RFC 6851 §4.3, and
VANISHED under QRESYNC, §4.4); COPY into the selected mailbox is reported (EXISTS and
RECENT) by the next command; a missing target is NO [TRYCREATE] (RFC 9051 §6.4.7)."""

from __future__ import annotations

from tests.conformance.harness import THREE, S, Script

SCRIPTS = [
    Script(
        "move-copyuid-before-expunge",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("a", "a2 MOVE 2 Trash"),
            S("a", "a3 UID MOVE 3 Trash"),
            S("b", "b2 NOOP"),
            S("a", "a4 MOVE 1 Nowhere"),
            S("a", "a5 STATUS Trash (MESSAGES UIDNEXT)"),
            S("a", "a6 MOVE 1:* Trash"),
            S("a", "a7 NOOP"),
        ],
        seed={"INBOX": THREE, "Trash": []},
    ),
    Script(
        "move-qresync-vanished",
        [
            S("a", "a1 ENABLE QRESYNC"),
            S("a", "a2 SELECT INBOX", ordered=False),
            S("a", "a3 UID MOVE 1:2 Trash"),
            S("a", "a4 FETCH 1 (UID FLAGS)"),
        ],
        seed={"INBOX": THREE, "Trash": []},
    ),
    Script(
        "copy-into-selected-and-uidplus",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 COPY 1:2 INBOX"),
            S("a", "a3 NOOP"),
            S("a", "a4 FETCH 4:5 (UID FLAGS)"),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 UID COPY 1,3 INBOX"),
            S("a", "a5 NOOP"),
            S("a", "a6 COPY 1 Nowhere"),
            S("a", "a7 COPY 99 Trash"),
            S("a", "a8 UID COPY 99 Trash"),
            S("a", "a9 APPEND Trash (\\Seen) {5+}", wait=None),
            S("a", "hello", wait="a9"),
            S("a", "a10 UID EXPUNGE 1"),
            S("a", "a11 STORE 1 +FLAGS.SILENT (\\Deleted)"),
            S("a", "a12 UID EXPUNGE 2:3"),
            S("a", "a13 UID EXPUNGE 1"),
        ],
        seed={"INBOX": THREE, "Trash": []},
    ),
]
