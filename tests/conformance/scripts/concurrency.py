"""Two sessions on one mailbox (issue 16 classes 12 and 13, RFC 3501 §5.2, §7.4.1,
RFC 2180 §4.1): what a session is told about the other's APPEND and EXPUNGE, when,
and what FETCH answers for a message the other session expunged."""

from __future__ import annotations

from tests.conformance.harness import THREE, Message, S, Script

_NEW = b"From: c@example.test\r\nSubject: late\r\n\r\nnew\r\n"


def _append(tag: str) -> bytes:
    return f"{tag} APPEND INBOX {{{len(_NEW)}+}}\r\n".encode() + _NEW


_SEEN_AT_END = (
    "RFC 3501 §7.4.1 leaves it open when a session learns another's flag changes: "
    "Dovecot syncs them before FETCH/STORE (message 2 shows \\Deleted), mailtool at the "
    "end of the command; message 2 is expunged before either sends its new flags"
)
_EXPUNGED_TEXT = (
    "RFC 2180 §4.1: a message another session expunged, whose text is gone: Dovecot "
    "answers its items NIL (RFC822.SIZE 0) with OK [EXPUNGEISSUED]; mailtool leaves "
    "the message out and answers OK (§4.1.3, docs/rfc-status.md)"
)

DIFFERENCES = {
    "concurrency-expunge-append#6": _SEEN_AT_END,
    "concurrency-expunge-append#8": "RFC 2180 §4.3 leaves it open whether SEARCH matches "
    "a message another session expunged (not yet announced): Dovecot includes 2, "
    "mailtool does not",
    "concurrency-expunge-append#9": _SEEN_AT_END,
    "concurrency-fetch-expunged#5": _EXPUNGED_TEXT,
    "concurrency-fetch-expunged#6": _EXPUNGED_TEXT,
    "concurrency-fetch-expunged#7": "RFC 2180 §4.4.1: COPY of an expunged message may "
    "fail (Dovecot: NO [EXPUNGEISSUED]) or copy what is left (mailtool: nothing, OK)",
    "concurrency-fetch-expunged#8": "RFC 3501 §7.4.1: Dovecot sent these EXPUNGEs after its "
    "COPY; mailtool holds EXPUNGEs back after COPY by sequence number too (as after FETCH, "
    "STORE, SEARCH) and sends them at this NOOP",
}

SCRIPTS = [
    Script(
        "concurrency-expunge-append",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 2 +FLAGS.SILENT (\\Deleted)"),
            S("b", "b3 EXPUNGE"),
            S("b", _append("b4")),
            # FETCH by number: no EXPUNGE may be sent (RFC 3501 §7.4.1); message 2 is
            # gone, its flags are still answered (RFC 2180 §4.1.1)
            S("a", "a2 FETCH 1:3 (UID FLAGS)"),
            S("a", "a3 STORE 3 +FLAGS (\\Flagged)"),
            S("a", "a4 SEARCH ALL"),
            # UID FETCH may be followed by EXPUNGE; then NOOP tells the rest
            S("a", "a5 UID FETCH 1:* (FLAGS)"),
            S("a", "a6 NOOP"),
            S("a", "a7 FETCH 1:* (UID FLAGS)"),
        ],
    ),
    Script(
        "concurrency-fetch-expunged",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("b", "b1 SELECT INBOX", ordered=False),
            S("b", "b2 STORE 2:3 +FLAGS.SILENT (\\Deleted)"),
            S("b", "b3 EXPUNGE"),
            # RFC 2180 §4.1: the message's text is gone; mailtool leaves it out and
            # answers OK (§4.1.3; docs/rfc-status.md)
            S("a", "a2 FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"),
            S("a", "a3 FETCH 1:3 (RFC822.SIZE BODY.PEEK[TEXT])"),
            S("a", "a4 COPY 2 INBOX"),
            S("a", "a5 NOOP"),
        ],
    ),
    Script(
        "concurrency-idle",
        [
            S("a", "a1 SELECT INBOX", ordered=False),
            S("a", "a2 IDLE", wait="+"),
            S("b", _append("b1")),
            S("a", None, wait="re:EXISTS"),
            # message 1 was seeded \\Deleted: the EXPUNGE is the only change pushed
            S("b", "b2 SELECT INBOX", ordered=False),
            S("b", "b4 EXPUNGE"),
            S("a", None, wait="re:EXPUNGE"),
            S("a", "DONE", wait="a2"),
            S("a", "a3 FETCH 1:* (UID FLAGS)"),
        ],
        seed={"INBOX": (Message("doomed", flags=("\\Deleted",)), *THREE[1:])},
    ),
]
