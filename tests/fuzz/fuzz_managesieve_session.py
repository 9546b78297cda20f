"""atheris target: a whole ManageSieve session on one input, from 127.0.0.1 (clear logins ok).

What the client sends, pipelined, then EOF, against a real data dir with
alice@example.test / secret and a few messages in INBOX (tests/fuzz/sessions.py).
The session must end by itself, whatever it was sent.
"""

from __future__ import annotations

from functools import cache

from tests.fuzz import corpus
from tests.fuzz.fuzz_managesieve_wire import seeds as wire_seeds
from tests.fuzz.harness import fuzz
from tests.fuzz.sessions import SessionDriver

LOGIN = b'AUTHENTICATE "PLAIN" "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ="\r\n'


@cache
def _driver() -> SessionDriver:
    from mailtool.mra.managesieve.service import create

    return SessionDriver("managesieve", create, 4190)


def test_one_input(data: bytes) -> None:
    _driver().run(data)


def seeds() -> list[bytes]:
    _MS = wire_seeds()
    return [c for c in _MS] + [LOGIN + c for c in _MS] + [
        LOGIN + b'PUTSCRIPT "s" {%d+}\r\n%s\r\nSETACTIVE "s"\r\nGETSCRIPT "s"\r\n' % (len(s), s)
        for s in corpus.sieve_scripts()[:8]
    ]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
