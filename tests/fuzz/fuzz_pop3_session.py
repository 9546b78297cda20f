"""atheris target: a whole POP3 session on one input, from 127.0.0.1 (login allowed in the clear).

What the client sends, pipelined, then EOF, against a real data dir with
alice@example.test / secret and a few messages in INBOX (tests/fuzz/sessions.py).
The session must end by itself, whatever it was sent.
"""

from __future__ import annotations

from functools import cache

from tests.fuzz import corpus
from tests.fuzz.harness import fuzz
from tests.fuzz.sessions import SessionDriver

LOGIN = b"USER alice@example.test\r\nPASS secret\r\n"


@cache
def _driver() -> SessionDriver:
    from mailtool.mra.pop3.service import create

    return SessionDriver("pop3", create, 110)


def test_one_input(data: bytes) -> None:
    _driver().run(data)


def seeds() -> list[bytes]:
    return [LOGIN + c for c in corpus.POP3_WIRE[1:6]] + [
        LOGIN + b"STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 3\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
        LOGIN + b"DELE 1\r\nDELE 2\r\nQUIT\r\n",
        b"CAPA\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\nLIST\r\nQUIT\r\n",
        b"APOP alice@example.test 0123456789abcdef0123456789abcdef\r\nUSER x\r\nPASS y\r\n",
    ]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
