"""atheris target: a whole IMAP session on one input, from 127.0.0.1 (login allowed in the clear).

What the client sends, pipelined, then EOF, against a real data dir with
alice@example.test / secret and a few messages in INBOX (tests/fuzz/sessions.py).
The session must end by itself, whatever it was sent.
"""

from __future__ import annotations

from functools import cache

from tests.fuzz import corpus
from tests.fuzz.harness import fuzz
from tests.fuzz.sessions import SessionDriver

LOGIN = b"a LOGIN alice@example.test secret\r\n"


@cache
def _driver() -> SessionDriver:
    from mailtool.mra.imap.service import create

    return SessionDriver("imap", create, 143)


def test_one_input(data: bytes) -> None:
    _driver().run(data)


def seeds() -> list[bytes]:
    return [LOGIN + c for c in corpus.IMAP_COMMANDS] + [
        LOGIN + b"s SELECT INBOX\r\n" + c for c in corpus.IMAP_COMMANDS[10:22]
    ] + [c for c in corpus.IMAP_COMMANDS[:4]]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
