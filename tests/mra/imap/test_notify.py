"""NOTIFY (RFC 5465) against a real server: one raw client listens, another client
(or this test process, writing to the store as another process would) makes the
changes. The listener reads the unsolicited lines without sending a command."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.mra.imap.conftest import Imap, message
from tests.mra.imap.wireclient import Wire

NEW_EXPUNGE = "(MessageNew MessageExpunge)"


def until(w: Wire, pattern: bytes) -> list[bytes]:
    """Lines up to and including the first one matching ``pattern`` (regex)."""
    lines = []
    while True:
        line = w.line()
        lines.append(line)
        if re.search(pattern, line):
            return lines


def quiet(w: Wire) -> list[bytes]:
    """What arrives before a NOOP's answer (nothing unsolicited is left over)."""
    return w.cmd("NOOP").untagged


@pytest.fixture
def pair(imap: Imap) -> tuple[Wire, Wire]:
    """The listener and the changer, with mailboxes Work and Other."""
    changer = imap.wire()
    for box in ("Work", "Other"):
        assert changer.cmd(f"CREATE {box}").status == "OK"
    return imap.wire(), changer


def append(w: Wire, box: str, subject: str = "hi") -> None:
    data = message(subject)
    assert w.cmd(b"APPEND %s {%d+}\r\n" % (box.encode(), len(data)) + data).status == "OK"


def test_status_of_other_mailboxes_arrives_without_a_command(pair: tuple[Wire, Wire]):
    listener, changer = pair
    assert b"NOTIFY" in listener.cmd("CAPABILITY").untagged[0]
    assert listener.cmd(f"NOTIFY SET (personal {NEW_EXPUNGE})").status == "OK"
    append(changer, "Work")
    line = listener.line()
    assert re.fullmatch(
        rb"\* STATUS Work \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)\r\n", line
    ), line
    # FlagChange was not asked for: \Seen set elsewhere says nothing
    assert changer.cmd("SELECT Work").status == "OK"
    assert changer.cmd("STORE 1 +FLAGS (\\Seen)").status == "OK"
    changer.cmd("EXPUNGE")  # nothing deleted: no change either
    assert quiet(listener) == []
    assert changer.cmd("STORE 1 +FLAGS (\\Deleted)").status == "OK"
    assert changer.cmd("EXPUNGE").status == "OK"
    assert until(listener, rb"STATUS Work")[-1].startswith(b"* STATUS Work (MESSAGES 0 ")


def test_flag_changes_of_other_mailboxes_with_condstore(pair: tuple[Wire, Wire]):
    listener, changer = pair
    assert listener.cmd("ENABLE CONDSTORE").status == "OK"
    spec = "(personal (MessageNew MessageExpunge FlagChange))"
    assert listener.cmd(f"NOTIFY SET {spec}").status == "OK"
    append(changer, "Work")
    first = until(listener, rb"STATUS Work")[-1]
    assert re.search(rb"UNSEEN 1 HIGHESTMODSEQ (\d+)\)", first), first
    assert changer.cmd("SELECT Work").status == "OK"
    assert changer.cmd("STORE 1 +FLAGS.SILENT (\\Seen)").status == "OK"
    seen = until(listener, rb"STATUS Work")[-1]
    assert b"MESSAGES 1 " in seen and b"UNSEEN 0 " in seen, seen


def test_selected_mailbox_changes_are_pushed_and_others_in_idle(pair: tuple[Wire, Wire]):
    listener, changer = pair
    assert listener.cmd("SELECT INBOX").status == "OK"
    spec = f"(selected (MessageNew MessageExpunge FlagChange)) (mailboxes Work {NEW_EXPUNGE})"
    assert listener.cmd(f"NOTIFY SET {spec}").status == "OK"
    append(changer, "INBOX")
    assert until(listener, rb"EXISTS")[-1] == b"* 1 EXISTS\r\n"
    assert changer.cmd("SELECT INBOX").status == "OK"
    assert changer.cmd("STORE 1 +FLAGS (\\Flagged)").status == "OK"
    assert re.search(rb"\* 1 FETCH \(FLAGS \([^)]*\\Flagged", until(listener, rb"FETCH")[-1])
    # in IDLE too, and for the other mailbox; Other is not watched
    listener.send(b"i IDLE\r\n")
    assert listener.line().startswith(b"+ ")
    append(changer, "Other")
    append(changer, "Work")
    assert until(listener, rb"STATUS")[-1].startswith(b"* STATUS Work (MESSAGES 1 ")
    assert changer.cmd("STORE 1 +FLAGS (\\Deleted)").status == "OK"
    assert changer.cmd("EXPUNGE").status == "OK"
    assert until(listener, rb"EXPUNGE")[-1] == b"* 1 EXPUNGE\r\n"
    listener.send(b"DONE\r\n")
    assert listener.collect("i").status == "OK"


def test_selected_delayed_holds_expunges_for_a_command(pair: tuple[Wire, Wire]):
    listener, changer = pair
    append(changer, "INBOX")
    assert listener.cmd("SELECT INBOX").status == "OK"
    assert listener.cmd(f"NOTIFY SET (selected-delayed {NEW_EXPUNGE})").status == "OK"
    assert changer.cmd("SELECT INBOX").status == "OK"
    assert changer.cmd("STORE 1 +FLAGS (\\Deleted)").status == "OK"
    assert changer.cmd("EXPUNGE").status == "OK"
    append(changer, "INBOX", "second")
    # the new message is told at once (EXISTS 2); the expunge only with the NOOP
    assert until(listener, rb"EXISTS")[-1] == b"* 2 EXISTS\r\n"
    assert b"* 1 EXPUNGE\r\n" in quiet(listener)


def test_message_new_fetch_attributes(pair: tuple[Wire, Wire]):
    listener, changer = pair
    assert listener.cmd("SELECT INBOX").status == "OK"
    spec = "(selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge))"
    assert listener.cmd(f"NOTIFY SET {spec}").status == "OK"
    append(changer, "INBOX", "pushed subject")
    lines = until(listener, rb"FETCH")
    assert lines[0] == b"* 1 EXISTS\r\n"
    assert b"UID 1" in lines[-1] and b"Subject: pushed subject" in lines[-1]


def test_mailbox_names_and_subscriptions(pair: tuple[Wire, Wire]):
    listener, changer = pair
    spec = "(personal (MailboxName SubscriptionChange))"
    assert listener.cmd(f"NOTIFY SET {spec}").status == "OK"
    assert changer.cmd("CREATE Fresh").status == "OK"
    assert until(listener, rb"LIST")[-1] == b'* LIST () "/" Fresh\r\n'
    if changer.cmd('LSUB "" Fresh').untagged:  # CREATE subscribes here
        assert until(listener, rb"LIST")[-1] == b'* LIST (\\Subscribed) "/" Fresh\r\n'
    assert changer.cmd("UNSUBSCRIBE Work").status == "OK"
    assert until(listener, rb"LIST")[-1] == b'* LIST () "/" Work\r\n'
    assert changer.cmd("SUBSCRIBE Work").status == "OK"
    assert until(listener, rb"LIST")[-1] == b'* LIST (\\Subscribed) "/" Work\r\n'
    assert changer.cmd("DELETE Fresh").status == "OK"
    assert until(listener, rb"LIST")[-1] == b'* LIST (\\NonExistent) "/" Fresh\r\n'
    assert changer.cmd("RENAME Other Renamed").status == "OK"
    renamed = until(listener, rb"Renamed")
    assert b'* LIST (\\NonExistent) "/" Other\r\n' in renamed
    assert b'* LIST () "/" Renamed\r\n' in renamed


def test_set_status_none_and_changes_from_another_process(pair: tuple[Wire, Wire], imap: Imap):
    listener, changer = pair
    append(changer, "Work")
    reply = listener.cmd(f"NOTIFY SET STATUS (mailboxes (Work Other) {NEW_EXPUNGE})")
    assert reply.status == "OK"
    assert [line.split(b" (")[0] for line in reply.untagged] == [
        b"* STATUS Other",
        b"* STATUS Work",
    ]
    # this test process writes to the store: the server hears it through inotify
    imap.mail().folder("Other").append(message("from elsewhere"))
    assert until(listener, rb"STATUS")[-1].startswith(b"* STATUS Other (MESSAGES 1 ")
    assert listener.cmd("NOTIFY NONE").status == "OK"
    append(changer, "Work")
    assert quiet(listener) == []


def test_rules_and_errors(imap: Imap):
    w = imap.wire(login=False)
    assert w.cmd(f"NOTIFY SET (personal {NEW_EXPUNGE})").status == "BAD"
    w = imap.wire()
    bad_event = w.cmd("NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))")
    assert bad_event.status == "NO" and b"[BADEVENT (MessageNew " in bad_event.tagged
    for spec in (
        "(selected (MessageNew))",  # RFC 5465 §5: MessageNew needs MessageExpunge
        "(selected-delayed (FlagChange))",
        "(personal (MessageNew (UID) MessageExpunge))",  # fetch: selected only
        f"(selected {NEW_EXPUNGE}) (selected-delayed {NEW_EXPUNGE})",
        "(everything (MessageNew MessageExpunge))",
        "(selected (MailboxName))",
    ):
        assert w.cmd(f"NOTIFY SET {spec}").status == "BAD", spec
    assert w.cmd("NOTIFY SET").status == "BAD"
    # other mailboxes get STATUS: any mix of events is fine there
    assert w.cmd("NOTIFY SET (personal (MessageNew))").status == "OK"
    assert w.cmd("NOTIFY NONE").status == "OK"


def test_bounds_watched_mailboxes_and_overflow(imap_server: Callable[..., Imap]):
    server = imap_server(
        config={"limits": {"imap_notify_max_mailboxes": 2, "imap_notify_max_queued": 2}}
    )
    changer = server.wire()
    for box in ("A", "B", "C"):
        assert changer.cmd(f"CREATE {box}").status == "OK"
    listener = server.wire()
    many = listener.cmd(f"NOTIFY SET (mailboxes (A B C) {NEW_EXPUNGE})")
    assert many.status == "NO" and b"[LIMIT]" in many.tagged
    assert listener.cmd(f"NOTIFY SET (mailboxes (A B) {NEW_EXPUNGE})").status == "OK"
    assert listener.cmd(f"NOTIFY SET (subtree A {NEW_EXPUNGE})").status == "OK"
    # mid-command (an APPEND waiting for its literal) nothing is pushed; the changes
    # pile up: past the limit the session says so and stops notifying (RFC 5465 §5.8)
    assert listener.cmd(f"NOTIFY SET (personal {NEW_EXPUNGE})").status == "NO"
    assert listener.cmd(f"NOTIFY SET (mailboxes (A INBOX) {NEW_EXPUNGE})").status == "OK"
    data = message("held")
    listener.send(b"h APPEND B {%d}\r\n" % len(data))
    assert listener.line().startswith(b"+ ")
    for box in ("A", "C", "INBOX"):
        append(changer, box)
    listener.send(data + b"\r\n")
    reply = listener.collect("h")
    assert reply.status == "OK"
    assert any(b"[NOTIFICATIONOVERFLOW]" in line for line in reply.untagged), reply
    append(changer, "A")
    assert not any(b"STATUS" in line for line in quiet(listener))
