"""atheris target: a whole SMTP session (RFC 5321) on one input, port 25 or submission.

The first byte picks the listener: even = port 25 from 192.0.2.9 (relay rules,
SPF/DKIM/DMARC on DATA with answers from tests/fuzz/fakedns.py), odd =
submission from 127.0.0.1 (AUTH, the header From check, DKIM signing when
configured); the rest is what the client sends, pipelined, then EOF. See
tests/fuzz/sessions.py for what is real and what is made cheap.
"""

from __future__ import annotations

from functools import cache

from tests.fuzz import corpus
from tests.fuzz.harness import fuzz
from tests.fuzz.sessions import SessionDriver


@cache
def _driver(name: str) -> SessionDriver:
    from mailtool.mta.service import create

    return SessionDriver(name, create, 25 if name == "smtp" else 587)


def test_one_input(data: bytes) -> None:
    submission = bool(data[:1]) and data[0] % 2 == 1
    driver = _driver("submission" if submission else "smtp")
    out = driver.run(data[1:], peer="127.0.0.1" if submission else "192.0.2.9")
    # every reply line is "NNN" then " " or "-"
    for line in out.split(b"\r\n")[:-1]:
        assert line[:3].isdigit() and line[3:4] in (b" ", b"-", b""), out


def seeds() -> list[bytes]:
    session = (
        b"EHLO client.example.org\r\nMAIL FROM:<bob@example.org>\r\n"
        b"RCPT TO:<alice@example.test>\r\nDATA\r\n"
    )
    message = corpus.messages()[0]
    auth = b"EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n"
    seeds = [b"\x00" + session + message + b"\r\n.\r\nQUIT\r\n"]
    seeds.append(b"\x01" + auth + b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<x@remote.test>\r\n"
                 b"DATA\r\nFrom: alice@example.test\r\nSubject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n")
    seeds.append(b"\x01EHLO c\r\nAUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS50ZXN0\r\nc2VjcmV0\r\nNOOP\r\n")
    seeds.append(b"\x00EHLO c\r\nBDAT 5 LAST\r\nhello\r\nRSET\r\nVRFY alice\r\nHELP\r\n")
    seeds += [b"\x00" + c for c in corpus.SMTP_COMMANDS]
    seeds += [b"\x01" + auth + c for c in corpus.SMTP_COMMANDS[2:10]]
    return seeds


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
