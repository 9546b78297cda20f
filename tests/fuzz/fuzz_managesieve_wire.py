"""atheris target: ManageSieve (RFC 5804 §4) command-line tokens, before any login.

Each input line is tokenized as the command reader does; a line is tokens or a
BadCommand, nothing else. What we write back (``quoted``) must read back as the
same string.
"""

from __future__ import annotations

from mailtool.mra.managesieve.wire import MAX_QUOTED, BadCommand, _tokens, quoted, response
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for line in text.split("\r\n")[:8]:
        try:
            tokens, literal = _tokens(line)
        except BadCommand:
            continue
        assert literal is None or literal >= 0
        for token in tokens[:3]:
            wire = quoted(token)
            if wire.startswith(b'"'):
                assert _tokens(wire.decode()) == ([token], None)
            else:
                head, _, body = wire.partition(b"\r\n")
                assert _tokens(head.decode())[1] == len(body) and body.decode() == token
    assert response("NO", text[:MAX_QUOTED], "QUOTA").endswith(b"\r\n")


def seeds() -> list[bytes]:
    # RFC 5804 §2 examples, client side
    return [
        b'AUTHENTICATE "PLAIN" "QJIrweAPyo6Q1T9xy"\r\n',
        b'AUTHENTICATE "SCRAM-SHA-256" {40+}\r\nbiwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n',
        b'PUTSCRIPT "mysievescript" {110+}\r\nrequire ["fileinto"];\r\n\r\nif envelope :contains '
        b'"to" "tmartin+sent" {\r\n  fileinto "INBOX.sent";\r\n}\r\n',
        b'CHECKSCRIPT {31+}\r\nrequire ["fileinto"];\r\n\r\n{}\r\n',
        b'HAVESPACE "myscript" 999999\r\nHAVESPACE "foobar" 435\r\n',
        b'LISTSCRIPTS\r\nSETACTIVE "toactivate"\r\nSETACTIVE ""\r\nGETSCRIPT "myscript"\r\n',
        b'DELETESCRIPT "foo"\r\nRENAMESCRIPT "foo" "bar"\r\nNOOP "STARTTLS-SYNC-42"\r\n',
        b'STARTTLS\r\nCAPABILITY\r\nUNAUTHENTICATE\r\nLOGOUT\r\n',
        b'PUTSCRIPT "a\\"b\\\\c" {0}\r\n',
        b'"unterminated\r\n{12a}\r\n{5+} trailing\r\n',
    ]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
