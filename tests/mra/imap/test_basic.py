"""The thin slice: LOGIN, LIST, SELECT, FETCH, STORE, EXPUNGE, LOGOUT with imaplib."""

from __future__ import annotations

import imaplib

from tests.mra.imap.conftest import Imap, message


def test_login_list_select_fetch_store_expunge(imap: Imap) -> None:
    c = imap.connect()
    typ, data = c.list()
    assert typ == "OK"
    names = b"\n".join(data)
    for folder in (b"INBOX", b"Sent", b"Drafts", b"Junk", b"Trash", b"Archive"):
        assert folder in names
    assert b"\\Sent" in names and b"\\Trash" in names
    for i in range(3):
        typ, _ = c.append("INBOX", "", imaplib.Time2Internaldate(1.8e9), message(f"m{i}"))
        assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    typ, data = c.fetch("1:3", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    subjects = [part[1] for part in data if isinstance(part, tuple)]
    assert subjects == [b"Subject: m0\r\n\r\n", b"Subject: m1\r\n\r\n", b"Subject: m2\r\n\r\n"]
    typ, data = c.store("2", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = c.expunge()
    assert typ == "OK" and data == [b"2"]
    typ, data = c.search(None, "ALL")
    assert data == [b"1 2"]
    assert c.logout()[0] == "BYE"
