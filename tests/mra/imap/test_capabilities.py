"""Issue 16 point 19: the capability list advertises exactly what is implemented.

Every token the server advertises, in any state, on either port, has an entry in
:data:`EXERCISE` that sends a command using it and checks the answer; a token
advertised without an entry (or an entry for a token no longer advertised) fails
the first test, so a capability cannot be added or dropped silently.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable

import pytest

from mailtool.protocol.sasl import ScramClient
from tests.harness import MailtoolServer
from tests.mra.imap.conftest import PASSWORD, Imap, add_user, message
from tests.mra.imap.wireclient import Reply, Wire


def caps(line: bytes) -> set[str]:
    m = re.search(rb"CAPABILITY ([^\]\r\n]*)", line)
    assert m, line
    return {c.decode() for c in m.group(1).split()}


def ok(w: Wire, command: str | bytes, *expect: bytes) -> Reply:
    """Run ``command``: OK, and each ``expect`` regex found in its untagged lines."""
    reply = w.cmd(command)
    assert reply.status == "OK", (command, reply)
    text = b"".join(reply.untagged)
    for pattern in expect:
        assert re.search(pattern, text), (command, pattern, text)
    return reply


_boxes = itertools.count(1)


def with_mail(imap: Imap) -> Wire:
    """Logged in, a new mailbox of two messages selected (the exercises share a user)."""
    w = imap.wire()
    box = f"Box{next(_boxes)}"
    ok(w, f"CREATE {box}")
    for subject in ("one", "two"):
        data = message(subject)
        ok(w, b"APPEND %s {%d+}\r\n" % (box.encode(), len(data)) + data)
    ok(w, f"SELECT {box}")
    return w


def _imap4rev1(imap: Imap) -> None:
    w = with_mail(imap)
    ok(w, "CHECK")
    ok(w, 'LSUB "" "*"', rb"\* LSUB")


def _imap4rev2(imap: Imap) -> None:
    w = imap.wire()
    ok(w, "ENABLE IMAP4rev2", rb"(?i)\* ENABLED IMAP4REV2")
    ok(w, "SELECT INBOX")
    ok(w, "SEARCH ALL", rb"\* ESEARCH")


def _sasl_ir(imap: Imap) -> None:
    w = imap.wire(login=False)
    token = base64.b64encode(f"\0{imap.user}\0{PASSWORD}".encode())
    assert w.cmd(b"AUTHENTICATE PLAIN " + token).status == "OK"


def _auth_plain(imap: Imap) -> None:
    w = imap.wire(login=False)
    tag = w.tag()
    w.send(tag.encode() + b" AUTHENTICATE PLAIN\r\n")
    assert w.line().startswith(b"+")
    w.send(base64.b64encode(f"\0{imap.user}\0{PASSWORD}".encode()) + b"\r\n")
    assert w.collect(tag).status == "OK"


def _auth_scram(imap: Imap) -> None:
    w = imap.wire(login=False)
    client = ScramClient(imap.user, PASSWORD)
    tag = w.tag()
    first = base64.b64encode(client.initial_response())
    w.send(tag.encode() + b" AUTHENTICATE SCRAM-SHA-256 " + first + b"\r\n")
    final = client.step(base64.b64decode(w.line()[2:].strip()))
    w.send(base64.b64encode(final) + b"\r\n")
    client.step(base64.b64decode(w.line()[2:].strip()))
    w.send(b"\r\n")
    assert w.collect(tag).status == "OK"


def _starttls(imap: Imap) -> None:
    w = Wire(imap.port)
    w.starttls()
    assert w.login(imap.user, PASSWORD).status == "OK"


def _logindisabled(imap: Imap) -> None:
    w = Wire(imap.port)
    assert "LOGINDISABLED" in caps(w.greeting)
    assert w.login(imap.user, PASSWORD).status != "OK"


def _literal_plus(imap: Imap) -> None:
    ok(imap.wire(), b"STATUS {5+}\r\nINBOX (MESSAGES)", rb"\* STATUS INBOX")


def _idle(imap: Imap) -> None:
    w = imap.wire()
    ok(w, "SELECT INBOX")
    w.send(b"i IDLE\r\n")
    assert w.line().startswith(b"+")
    w.send(b"DONE\r\n")
    assert w.collect("i").status == "OK"


def _uidplus(imap: Imap) -> None:
    w = with_mail(imap)
    data = message("three")
    reply = ok(w, b"APPEND INBOX {%d+}\r\n" % len(data) + data)
    assert b"[APPENDUID " in reply.tagged
    ok(w, "STORE 1 +FLAGS.SILENT (\\Deleted)")
    ok(w, "UID EXPUNGE 1", rb"\* 1 EXPUNGE")


def _move(imap: Imap) -> None:
    w = with_mail(imap)
    ok(w, "MOVE 1 INBOX", rb"\* OK \[COPYUID ", rb"\* 1 EXPUNGE")


def _special_use(imap: Imap) -> None:
    ok(imap.wire(), 'LIST (SPECIAL-USE) "" "*"', rb"\\Sent")


def _quota(imap: Imap) -> None:
    ok(imap.wire(), "GETQUOTAROOT INBOX", rb"\* QUOTAROOT INBOX")


def _appendlimit(imap: Imap) -> None:
    w = imap.wire()
    limit = next(c for c in caps(w.cmd("CAPABILITY").untagged[0]) if c.startswith("APPENDLIMIT="))
    n = int(limit.split("=")[1])
    ok(w, "STATUS INBOX (APPENDLIMIT)", rb"APPENDLIMIT %d" % n)
    w.send(b"big APPEND INBOX {%d}\r\n" % (n + 1))
    assert b"[TOOBIG]" in w.collect("big").tagged


def _compress(imap: Imap) -> None:
    from tests.mra.imap.test_compress import deflate

    w = imap.wire()
    deflate(w)
    ok(w, "NOOP")


def _notify(imap: Imap) -> None:
    w = imap.wire()
    ok(w, "NOTIFY SET STATUS (inboxes (MessageNew MessageExpunge))", rb"\* STATUS INBOX ")
    ok(w, "NOTIFY NONE")


def _commands(*commands: tuple[str, bytes], mail: bool = False) -> Callable[[Imap], None]:
    """An exerciser that runs each ``(command, expected regex)``."""

    def run(imap: Imap) -> None:
        w = with_mail(imap) if mail else imap.wire()
        for command, pattern in commands:
            ok(w, command, *([pattern] if pattern else []))

    return run


EXERCISE: dict[str, Callable[[Imap], None]] = {
    "IMAP4rev1": _imap4rev1,
    "IMAP4rev2": _imap4rev2,
    "SASL-IR": _sasl_ir,
    "AUTH=PLAIN": _auth_plain,
    "AUTH=SCRAM-SHA-256": _auth_scram,
    "STARTTLS": _starttls,
    "LOGINDISABLED": _logindisabled,
    "ID": _commands(("ID NIL", rb"\* ID ")),
    "ENABLE": _commands(("ENABLE CONDSTORE", rb"\* ENABLED CONDSTORE")),
    "LITERAL+": _literal_plus,
    "IDLE": _idle,
    "NAMESPACE": _commands(("NAMESPACE", rb'\* NAMESPACE \(\("" "/"\)\)')),
    "UNSELECT": _commands(("UNSELECT", b""), mail=True),
    "UIDPLUS": _uidplus,
    "MOVE": _move,
    "CHILDREN": _commands(('LIST "" "*"', rb"\\HasNoChildren")),
    "SPECIAL-USE": _special_use,
    "CREATE-SPECIAL-USE": _commands(("CREATE MyJunk (USE (\\Junk))", b""), ("DELETE MyJunk", b"")),
    "LIST-EXTENDED": _commands(('LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)', rb"\\Subscribed")),
    "LIST-STATUS": _commands(('LIST "" INBOX RETURN (STATUS (MESSAGES))', rb"\* STATUS INBOX")),
    "ESEARCH": _commands(("SEARCH RETURN (COUNT) ALL", rb"\* ESEARCH .*COUNT 2"), mail=True),
    "SEARCHRES": _commands(
        ("SEARCH RETURN (SAVE) SUBJECT two", b""), ("FETCH $ UID", rb"\* 2 FETCH"), mail=True
    ),
    "CONDSTORE": _commands(("FETCH 1 (MODSEQ)", rb"MODSEQ \(\d+\)"), mail=True),
    "QRESYNC": _commands(
        ("ENABLE QRESYNC", rb"ENABLED QRESYNC"),
        ("SELECT INBOX (QRESYNC (1 1))", rb"OK \[HIGHESTMODSEQ \d+\]"),
    ),
    "QUOTA": _quota,
    "QUOTA=RES-STORAGE": _quota,
    "QUOTA=RES-MESSAGE": _quota,
    "BINARY": _commands(("FETCH 1 BINARY.SIZE[1]", rb"BINARY.SIZE\[1\] \d+"), mail=True),
    "STATUS=SIZE": _commands(("STATUS INBOX (SIZE)", rb"\(SIZE \d+\)")),
    "UTF8=ACCEPT": _commands(("ENABLE UTF8=ACCEPT", rb"ENABLED UTF8=ACCEPT")),
    "SORT": _commands(("SORT (REVERSE DATE) UTF-8 ALL", rb"\* SORT \d"), mail=True),
    "SORT=DISPLAY": _commands(("SORT (DISPLAYFROM) UTF-8 ALL", rb"\* SORT \d"), mail=True),
    "THREAD=ORDEREDSUBJECT": _commands(
        ("THREAD ORDEREDSUBJECT UTF-8 ALL", rb"\* THREAD \("), mail=True
    ),
    "THREAD=REFERENCES": _commands(("THREAD REFERENCES UTF-8 ALL", rb"\* THREAD \("), mail=True),
    "APPENDLIMIT": _appendlimit,
    "COMPRESS=DEFLATE": _compress,
    "NOTIFY": _notify,
    # RFC 5464 §1: METADATA is mailbox and server entries (so not METADATA-SERVER too)
    "METADATA": _commands(
        ('SETMETADATA INBOX (/private/comment "c")', b""),
        (
            "GETMETADATA INBOX /private/comment",
            rb"\* METADATA INBOX \(/private/comment \{1\}\r\nc\)",
        ),
        ('SETMETADATA "" (/shared/comment "s")', b""),
        ('GETMETADATA "" /shared/comment', rb'\* METADATA "" \(/shared/comment \{1\}\r\ns\)'),
    ),
}


def advertised(imap: Imap) -> set[str]:
    """Every token, in every state, on both ports (APPENDLIMIT=n as APPENDLIMIT)."""
    seen = caps(Wire(imap.port).greeting) | caps(Wire(imap.tls_port, tls=True).greeting)
    w = imap.wire()
    seen |= caps(w.cmd("CAPABILITY").untagged[0])
    return {c.split("=")[0] if c.startswith("APPENDLIMIT=") else c for c in seen}


@pytest.fixture(scope="module")
def one_user(shared_server: MailtoolServer) -> Imap:
    """One user for every exercise of the module (a password hash costs a while)."""
    add_user(shared_server, "caps@example.test")
    return Imap(shared_server, "caps@example.test")


def test_every_advertised_capability_has_an_exercise(one_user: Imap):
    assert advertised(one_user) == set(EXERCISE)


@pytest.mark.parametrize("capability", sorted(EXERCISE))
def test_capability_is_implemented(one_user: Imap, capability: str):
    EXERCISE[capability](one_user)
