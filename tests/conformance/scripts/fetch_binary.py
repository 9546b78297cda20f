"""BINARY (RFC 3516, issue 16 class 8): decoded sizes and bytes of quoted-printable
and base64 parts, BINARY[] of a whole message, a message/rfc822 part, partial
fetches, a part that does not exist and an encoding nobody can undo."""

from __future__ import annotations

from tests.conformance.harness import Message, S, Script

_MULTI = (
    "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "caf=C3=A9 a quoted-printable line that is long enough to need a soft=\r\n"
    " line break, and an =3D sign=20\r\nsecond line\r\n--XX\r\n"
    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAwQFBgcICQoLDA0ODw==\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
    "--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    "begin 644 x\r\n--XX--"
)
SEED = {
    "INBOX": (
        Message(
            "multipart",
            body=_MULTI,
            extra_headers="MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n",
        ),
        # no MIME-Version: the transfer encoding still counts for BINARY (as Dovecot)
        Message(
            "single base64",
            body="aGVsbG8sIHNpbmdsZSBwYXJ0Lg==",
            extra_headers="Content-Transfer-Encoding: base64\r\n",
        ),
        Message(
            "single qp",
            body="caf=C3=A9 =3D soft=\r\nbreak",
            extra_headers="MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        ),
    )
}

_UID_BEFORE_NO = (
    "RFC 3516 §4.2: both answer NO [UNKNOWN-CTE] for the x-uuencode part; Dovecot first "
    "sends a '* 1 FETCH (UID 1)' with nothing asked for in it, mailtool only the NO"
)

DIFFERENCES = {
    "binary-fetch#2": "RFC 3516 §4.2: UNKNOWN-CTE is for a part the server cannot decode; "
    "parts 1-3 decode (mailtool answers their sizes), Dovecot refuses BINARY.SIZE of "
    "the message/rfc822 part 3 because of part 4's x-uuencode",
    "binary-fetch#8": _UID_BEFORE_NO,
    "binary-fetch#9": _UID_BEFORE_NO,
}

SCRIPTS = [
    Script(
        "binary-fetch",
        [
            S("a", "b1 EXAMINE INBOX", ordered=False),
            S("a", "b2 FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3] BINARY.SIZE[3.1])"),
            S("a", "b3 FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2])"),
            S("a", "b4 FETCH 1 (BINARY.PEEK[3] BINARY.PEEK[3.1])"),
            S("a", "b5 FETCH 1 (BINARY.PEEK[1]<0.10> BINARY.PEEK[2]<4.100>)"),
            S("a", "b6 FETCH 2:3 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.SIZE[])"),
            S("a", "b7 FETCH 2:3 BINARY.PEEK[]"),
            S("a", "b8 UID FETCH 1 BINARY.PEEK[4]"),
            S("a", "b9 FETCH 1 BINARY.SIZE[4]"),
            S("a", "b10 FETCH 1 BINARY.PEEK[9]"),
        ],
        seed=SEED,
    ),
]
