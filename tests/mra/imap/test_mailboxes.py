"""LIST / LSUB (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), CREATE (USE), DELETE, RENAME,
SUBSCRIBE, STATUS, NAMESPACE; hostile names refused."""

from __future__ import annotations

import pytest

from tests.mra.imap.conftest import Imap, message


def test_default_folders_have_special_use(imap: Imap) -> None:
    w = imap.wire()
    reply = w.cmd('LIST "" "*"')
    lines = {line.rsplit(b" ", 1)[1].strip(): line for line in reply.lines(b"* LIST")}
    assert set(lines) == {b"INBOX", b"Sent", b"Drafts", b"Junk", b"Trash", b"Archive"}
    for name, use in [(b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"), (b"Junk", b"\\Junk"),
                      (b"Trash", b"\\Trash"), (b"Archive", b"\\Archive")]:  # fmt: skip
        assert use in lines[name]
    assert b'"/"' in lines[b"INBOX"] and b"\\HasNoChildren" in lines[b"INBOX"]
    reply = w.cmd('LIST (SPECIAL-USE) "" "*"')
    assert len(reply.lines(b"* LIST")) == 5
    reply = w.cmd('LIST "" ""')
    assert reply.untagged == [b'* LIST (\\Noselect) "/" ""\r\n']


def test_create_rename_delete_hierarchy(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("CREATE Work/Projects/2026").status == "OK"
    reply = w.cmd('LIST "" "Work/%"')
    assert reply.untagged == [b'* LIST (\\HasChildren) "/" Work/Projects\r\n']
    reply = w.cmd('LIST "" "%"')
    assert any(b"\\HasChildren" in line and line.endswith(b" Work\r\n") for line in reply.untagged)
    assert w.cmd("CREATE Work").tagged.endswith(b"NO [ALREADYEXISTS] Mailbox exists already\r\n")
    assert w.cmd("RENAME Work Job").status == "OK"
    names = {line.rsplit(b" ", 1)[1].strip() for line in w.cmd('LIST "" "*"').untagged}
    assert {b"Job", b"Job/Projects", b"Job/Projects/2026"} <= names and b"Work" not in names
    assert w.cmd("DELETE Job").status == "NO"  # has children
    assert w.cmd("DELETE Job/Projects/2026").status == "OK"
    assert w.cmd("DELETE Job/Projects").status == "OK"
    assert w.cmd("DELETE Job").status == "OK"
    assert w.cmd("DELETE Job").tagged.endswith(b"NO [NONEXISTENT] Mailbox does not exist\r\n")
    assert w.cmd("DELETE INBOX").status == "NO"


def test_unicode_names_in_modified_utf7(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("CREATE &AMk-t&AOk-").status == "OK"  # "Été"
    reply = w.cmd('LIST "" "&AMk-*"')
    assert reply.untagged[0].endswith(b" &AMk-t&AOk-\r\n")
    assert "Été" in imap.mail().folders()
    assert w.cmd("SELECT &AMk-t&AOk-").status == "OK"


def test_utf8_names_under_imap4rev2(imap: Imap) -> None:
    w = imap.wire()
    w.cmd("ENABLE IMAP4rev2")
    assert w.cmd('CREATE "Größe/日本"'.encode()).status == "OK"
    reply = w.cmd(b'LIST "" "Gr*"')
    assert reply.untagged[-1].endswith('"Größe/日本"\r\n'.encode())
    assert "Größe/日本" in imap.mail().folders()
    plain = imap.wire()  # an IMAP4rev1 session sees the same folder in modified UTF-7
    assert plain.cmd('LIST "" "Gr*"').untagged[-1].endswith(b" Gr&APYA3w-e/&ZeVnLA-\r\n")


def test_utf8_accept(imap: Imap) -> None:
    """RFC 6855: ENABLE UTF8=ACCEPT on an IMAP4rev1 session: UTF-8 mailbox names both
    ways, APPEND's UTF8 data extension, UTF-8 search strings, and no CHARSET."""
    w = imap.wire()
    assert b" UTF8=ACCEPT" in w.cmd("CAPABILITY").untagged[0]
    assert w.cmd("ENABLE UTF8=ACCEPT").untagged == [b"* ENABLED UTF8=ACCEPT\r\n"]
    assert w.cmd('CREATE "Été"'.encode()).status == "OK"
    assert w.cmd(b'LIST "" "*t*"').untagged[-1].endswith('"Été"\r\n'.encode())
    assert "Été" in imap.mail().folders()
    msg = "Subject: café crème\r\nFrom: zoë@example.test\r\n\r\nhi\r\n".encode()
    tag = w.tag()
    w.send(f'{tag} APPEND "Été" UTF8 (~{{{len(msg)}+}}\r\n'.encode() + msg + b")\r\n")
    assert w.collect(tag).status == "OK"
    assert w.cmd('SELECT "Été"'.encode()).status == "OK"
    assert w.cmd('UID SEARCH SUBJECT "CRÈME"'.encode()).untagged == [b"* SEARCH 1\r\n"]
    assert w.cmd("FETCH 1 BODY.PEEK[]").untagged[0].endswith(msg + b")\r\n")
    assert w.cmd("SEARCH CHARSET UTF-8 ALL").status == "BAD"  # RFC 6855 §3


@pytest.mark.parametrize(
    "name",
    [
        '".."',
        '"../x"',
        '"a/../../b"',
        '"/etc"',
        '"a//b"',
        '"x*"',
        '"y%"',
        '"a&AAE-b"',
        "raw-control",
    ],
)
def test_hostile_names_are_refused(imap: Imap, name: str) -> None:
    w = imap.wire()
    if name == "raw-control":
        # a literal with a raw control character is not modified UTF-7: NO (a name no
        # mailbox can have, issue 16 class 3, as Dovecot answers), and the session goes on
        tag = w.tag()
        w.send(f"{tag} CREATE {{3+}}\r\na\x01b\r\n".encode())
        assert w.collect(tag).status == "NO"
        assert w.cmd("NOOP").status == "OK"
        return
    reply = w.cmd(f"CREATE {name}")
    assert reply.status == "NO", reply
    root = imap.server.data_dir / "mail"
    assert not list(root.glob("*/etc")) and not (imap.server.data_dir / "x").exists()


def test_subscribe_lsub_and_list_extended(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("CREATE News").status == "OK"
    assert w.cmd("UNSUBSCRIBE News").status == "OK"
    assert not w.cmd('LSUB "" "News"').untagged
    assert w.cmd("SUBSCRIBE News").status == "OK"
    assert w.cmd('LSUB "" "News"').untagged == [b'* LSUB () "/" News\r\n']
    reply = w.cmd('LIST (SUBSCRIBED) "" "News" RETURN (CHILDREN)')
    assert b"\\Subscribed" in reply.untagged[0]
    assert w.cmd("SUBSCRIBE Nonexistent").status == "NO"


def test_status_and_list_status(imap: Imap) -> None:
    mail = imap.mail()
    inbox = mail.folder("INBOX")
    inbox.append(message("a"))
    inbox.append(message("b"), flags=["\\Seen", "\\Deleted"])
    w = imap.wire()
    reply = w.cmd("STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY DELETED SIZE HIGHESTMODSEQ)")
    line = reply.untagged[0]
    assert line.startswith(b"* STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDNEXT 3 UIDVALIDITY ")
    assert b" DELETED 1 SIZE " in line
    reply = w.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN))')
    assert reply.untagged[0].startswith(b"* LIST (")
    assert reply.untagged[1] == b"* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n"
    assert w.cmd("STATUS Nope (MESSAGES)").status == "NO"


def test_namespace_and_create_special_use(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("NAMESPACE").untagged == [b'* NAMESPACE (("" "/")) NIL NIL\r\n']
    assert w.cmd("CREATE MyJunk (USE (\\Junk))").status == "OK"
    reply = w.cmd('LIST "" "MyJunk"')
    assert b"\\Junk" in reply.untagged[0]
    assert b"[USEATTR]" in w.cmd("CREATE Odd (USE (\\Bogus))").tagged
