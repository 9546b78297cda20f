"""SEARCH FROM/TO/CC/BCC in every address form and SORT by the first address (issue
16 class 9; tests/conformance/scripts/search_sort.py compares the same with Dovecot)."""

from __future__ import annotations

from tests.mra.imap.conftest import Imap

MESSAGES = [
    b"From: zed@example.test\r\nTo: Bob <bob@example.test>\r\nSubject: a\r\n\r\nx\r\n",
    b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.test>\r\nTo: undisclosed-recipients:;\r\n"
    b'Cc: Team: amy@example.test, "Carl, C." <carl@example.test>;\r\nSubject: b\r\n\r\nx\r\n',
    b"From: ann@example.test (Ann Admin)\r\nTo: <quinn@example.test>\r\n"
    b"Bcc: hidden@example.test\r\nSubject: c\r\n\r\nx\r\n",
]


def _numbers(reply: list[bytes]) -> list[int]:
    return [int(n) for n in reply[0].split()[2:]]


def test_address_forms(imap: Imap) -> None:
    for raw in MESSAGES:
        imap.mail().folder("INBOX").append(raw)
    w = imap.wire()
    w.cmd("EXAMINE INBOX")
    cases = {
        "SEARCH FROM jorg@example.test": [2],
        "SEARCH FROM <jorg@example.test>": [2],
        b"SEARCH CHARSET UTF-8 FROM {5+}\r\nJ\xc3\xb6rg": [2],
        'SEARCH FROM "Ann Admin"': [3],
        'SEARCH CC "Team"': [2],
        'SEARCH CC "Carl, C."': [2],
        "SEARCH TO undisclosed-recipients": [2],
        "SEARCH TO <quinn@example.test>": [3],
        "SEARCH BCC hidden": [3],
        "SEARCH TO example.test": [1, 3],  # 2 has only a group
    }
    for command, expected in cases.items():
        reply = w.cmd(command)
        assert reply.status == "OK" and _numbers(reply.untagged) == expected, command


def test_sort_by_first_address_and_group_name(imap: Imap) -> None:
    for raw in MESSAGES:
        imap.mail().folder("INBOX").append(raw)
    w = imap.wire()
    w.cmd("EXAMINE INBOX")
    # RFC 5256: addr-mailbox of the first address; a group's is its name (as ENVELOPE)
    assert _numbers(w.cmd("SORT (TO) UTF-8 ALL").untagged) == [1, 3, 2]  # bob quinn undisc.
    assert _numbers(w.cmd("SORT (FROM) UTF-8 ALL").untagged) == [3, 2, 1]  # ann jorg zed
    assert _numbers(w.cmd("SORT (CC) UTF-8 ALL").untagged) == [1, 3, 2]  # "" "" team
    assert _numbers(w.cmd("SORT (DISPLAYTO) UTF-8 ALL").untagged) == [1, 3, 2]
