"""The IMAP client's response handling, without a server (aioimaplib lines in, data out)."""

from __future__ import annotations

from mailtool.client.imap_parse import (
    envelope_from_fetch,
    parse_fetch,
    parse_list,
    parse_search,
    parse_select,
    parse_status,
    parse_uid_map,
    response_codes,
)
from mailtool.client.imap_transport import arg, assemble


def test_assemble_puts_literals_back_inline():
    lines = [b"1 FETCH (UID 7 BODY[] {5}", bytearray(b"hello"), b" FLAGS (\\Seen))",
             b"2 FETCH (UID 8 FLAGS ())", b"Fetch completed"]
    assert assemble(lines) == [b"1 FETCH (UID 7 BODY[] {5}\r\nhello FLAGS (\\Seen))",
                               b"2 FETCH (UID 8 FLAGS ())", b"Fetch completed"]


def test_envelope_with_parens_stars_and_encoded_words():
    line = (b'3 FETCH (UID 42 FLAGS (\\Seen \\Flagged) RFC822.SIZE 1234 ENVELOPE '
            b'("Mon, 02 Jan 2023 10:00:00 +0000" "=?utf-8?q?Caf=C3=A9?= * (draft" '
            b'(("Bob" NIL "bob" "example.test")) NIL NIL (("Alice" NIL "alice" "example.test"))'
            b' NIL NIL "<p@x>" "<m@x>") BODY[HEADER.FIELDS (REFERENCES)] {27}\r\n'
            b'References: <a@x> <p@x>\r\n\r\n)')
    env = envelope_from_fetch(parse_fetch(line))
    assert env.uid == 42 and env.size == 1234
    assert env.subject == "Café * (draft"
    assert env.seen and env.flagged
    assert env.from_[0].email == "bob@example.test" and env.from_[0].name == "Bob"
    assert env.message_id == "<m@x>" and env.in_reply_to == "<p@x>"
    assert env.references == ("<a@x>", "<p@x>")
    assert env.date.year == 2023


def test_list_status_select_search_thread():
    f = parse_list(b'LIST (\\HasNoChildren \\Sent) "/" "Sent Items"')
    assert f.name == "Sent Items" and f.special == "\\Sent" and f.delimiter == "/"
    assert parse_list(b'LIST () "." "&AMk-t&AOk-"').name == "Été"
    name, info = parse_status(b"STATUS INBOX (MESSAGES 3 UNSEEN 1 UIDNEXT 9 UIDVALIDITY 5)")
    assert (name, info.exists, info.unseen, info.uidnext) == ("INBOX", 3, 1, 9)
    sel = parse_select([b"FLAGS (\\Seen \\Deleted)", b"4 EXISTS", b"OK [UIDVALIDITY 77] ok",
                        b"OK [UIDNEXT 5] next", b"OK [HIGHESTMODSEQ 12] m"], "[READ-WRITE] ok")
    assert (sel.exists, sel.uidvalidity, sel.uidnext, sel.highestmodseq) == (4, 77, 5, 12)
    assert parse_search([b"SEARCH 3 1 2"]) == [3, 1, 2]
    assert parse_search([b'ESEARCH (TAG "a") UID ALL 1:3,7']) == [1, 2, 3, 7]


def test_response_codes_and_copyuid():
    codes = response_codes("OK [COPYUID 9 1:3,7 10:13] Moved")
    assert parse_uid_map(codes["COPYUID"]) == {1: 10, 2: 11, 3: 12, 7: 13}
    assert response_codes(b"[APPENDUID 5 88] Append completed")["APPENDUID"] == "5 88"


def test_arguments_are_quoted_when_needed():
    assert arg("INBOX") == "INBOX"
    assert arg("Sent Items") == '"Sent Items"'
    assert arg('pa"ss') == '"pa\\"ss"'
