"""UTF-8 headers for clients that did not ENABLE UTF8=ACCEPT (RFC 6855 §6, RFC 6857;
issue 16 class 11): ENVELOPE, BODYSTRUCTURE and header sections carry encoded words;
after ENABLE UTF8=ACCEPT the stored UTF-8 is sent as it is."""

from __future__ import annotations

import re

from mailtool.protocol.mime import decode_header
from mailtool.protocol.mime.downgrade import downgrade_header, encode_words
from tests.mra.imap.conftest import Imap

RAW = (
    "From: Jörg Müller <jorg@example.test>\r\nTo: undisclosed:;\r\n"
    "Cc: ü@bücher.test, plain@example.test\r\nSubject: café über alles\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: text/plain; charset=utf-8; name="résumé.txt"\r\n\r\nbody\r\n'
).encode()


def test_encoded_words_are_bounded_and_decode_back() -> None:
    text = "é" * 100 + " long ü"
    words = encode_words(text.encode())
    assert words.isascii() and all(len(w) <= 75 for w in words.split())
    assert decode_header(words) == text
    assert encode_words(b"caf\xe9") == "=?unknown-8bit?b?Y2Fm6Q==?="  # not UTF-8: RFC 1428


def test_long_header_is_folded_between_encoded_words() -> None:
    out = downgrade_header(("Subject: " + "ü" * 2000 + "\r\n").encode())
    lines = out.split(b"\r\n")
    # the first line also holds "Subject: "; every other one is one encoded word
    assert len(lines[0]) < 100 and max(len(line) for line in lines[1:]) <= 78
    assert len(lines) > 20
    unfolded = out.decode().replace("\r\n ", " ").strip()
    assert decode_header(unfolded.removeprefix("Subject: ")) == "ü" * 2000


def test_header_fields_downgraded() -> None:
    out = downgrade_header(RAW[: RAW.index(b"\r\n\r\n") + 4])
    assert out.isascii() and out.endswith(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in out.decode().split("\r\n") if ": " in line)
    assert fields["To"] == "undisclosed:;"
    assert re.fullmatch(r"=\?utf-8\?b\?\S+\?= <jorg@example\.test>", fields["From"])
    assert decode_header(fields["From"].split(" <")[0]) == "Jörg Müller"
    assert decode_header(fields["Subject"]) == "café über alles"
    # RFC 6857 §3.1.3: a non-ASCII address becomes an empty group named by it
    assert fields["Cc"].endswith(":;, plain@example.test")


def test_fetch_downgrades_unless_utf8_enabled(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(RAW)
    items = "(ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] RFC822.HEADER)"
    legacy = imap.wire()
    legacy.cmd("SELECT INBOX")
    answer = legacy.cmd(f"FETCH 1 {items}")
    assert answer.status == "OK" and answer.untagged[0].isascii()
    line = answer.untagged[0].decode()
    assert "=?utf-8?b?" in line and "jorg" in line
    assert decode_header(re.search(r'ENVELOPE \((?:NIL|"[^"]*") "([^"]*)"', line).group(1)) == (  # type: ignore[union-attr]
        "café über alles"
    )
    # the body is sent as stored (its size is RFC822.SIZE)
    assert legacy.cmd("FETCH 1 BODY.PEEK[]").untagged[0].endswith(RAW + b")\r\n")
    modern = imap.wire()
    assert modern.cmd("ENABLE UTF8=ACCEPT").status == "OK"
    modern.cmd("SELECT INBOX")
    line8 = modern.cmd(f"FETCH 1 {items}").untagged[0]
    assert "café über alles".encode() in line8 and "Jörg Müller".encode() in line8
