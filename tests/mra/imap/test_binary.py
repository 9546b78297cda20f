"""BINARY (RFC 3516, issue 16 class 8): sizes and bytes are the decoded ones, every
BINARY literal is a literal8, BINARY[] decodes each leaf (as Dovecot does)."""

from __future__ import annotations

from mailtool.protocol import mime
from tests.mra.imap.conftest import Imap

QP_BODY = b"caf=C3=A9 soft=\r\n broken=20\r\nline two"
MULTI = (
    b"From: a@example.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n" + QP_BODY + b"\r\n--XX\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAECAwQFBgc=\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\nepilogue\r\n"
)
#: no MIME-Version: BINARY still honours the transfer encoding (Dovecot does)
SINGLE = (
    b"From: a@example.test\r\nSubject: single\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    b"\r\nhello =3D world=\r\n!\r\n"
)
DECODED_QP = "café soft broken \r\nline two".encode()


def test_decoded_sizes_and_bytes_of_parts() -> None:
    msg = mime.parse(MULTI)
    assert mime.binary(msg, (1,)) == DECODED_QP
    assert mime.binary_size(msg, (1,)) == len(DECODED_QP) < len(QP_BODY)
    assert mime.binary(msg, (2,)) == bytes(range(8))
    # a message/rfc822 part: the inner message with its leaf decoded
    assert (
        mime.binary(msg, (3,))
        == b"Subject: inner\r\nContent-Transfer-Encoding: binary\r\n\r\nhello"
    )
    assert mime.binary(msg, (3, 1)) == b"hello"
    assert mime.binary(SINGLE, (1,)) == b"hello = world!\r\n"


def test_binary_of_whole_message_decodes_every_leaf() -> None:
    whole = mime.binary(MULTI)
    assert whole is not None
    assert DECODED_QP in whole and bytes(range(8)) in whole and b"aGVsbG8=" not in whole
    assert whole.count(b"Content-Transfer-Encoding: binary\r\n") == 3
    assert whole.startswith(MULTI[: MULTI.index(b"\r\n\r\n")]) and whole.endswith(
        b"--XX--\r\nepilogue\r\n"
    )
    assert mime.binary(SINGLE) == (
        b"From: a@example.test\r\nSubject: single\r\nContent-Transfer-Encoding: binary\r\n"
        b"\r\nhello = world!\r\n"
    )
    plain = b"Subject: x\r\n\r\nno encoding\r\n"
    assert mime.binary(plain) == plain


def test_fetch_binary_over_the_wire(imap: Imap) -> None:
    imap.mail().folder("INBOX").append(MULTI)
    imap.mail().folder("INBOX").append(SINGLE)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    reply = w.cmd("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.PEEK[2])")
    assert reply.status == "OK"
    n = len(DECODED_QP)
    assert reply.untagged == [
        b"* 1 FETCH (BINARY.SIZE[1] %d BINARY[1] ~{%d}\r\n" % (n, n) + DECODED_QP
        + b" BINARY[2] ~{8}\r\n" + bytes(range(8)) + b")\r\n"
    ]  # fmt: skip
    whole = mime.binary(SINGLE)
    assert whole is not None
    reply = w.cmd("FETCH 2 (BINARY.SIZE[] BINARY.PEEK[] BINARY.PEEK[1]<0.5>)")
    assert reply.untagged == [
        b"* 2 FETCH (BINARY.SIZE[] %d BINARY[] ~{%d}\r\n" % (len(whole), len(whole)) + whole
        + b" BINARY[1]<0> ~{5}\r\nhello)\r\n"
    ]  # fmt: skip


def test_unknown_transfer_encoding_anywhere_in_binary_whole_is_refused(imap: Imap) -> None:
    odd = MULTI.replace(
        b"Content-Transfer-Encoding: base64\r\n\r\nAAEC",
        b"Content-Transfer-Encoding: x-uue\r\n\r\nAAEC",
    )
    imap.mail().folder("INBOX").append(odd)
    w = imap.wire()
    w.cmd("SELECT INBOX")
    assert b"[UNKNOWN-CTE]" in w.cmd("FETCH 1 BINARY.PEEK[]").tagged
    assert b"[UNKNOWN-CTE]" in w.cmd("FETCH 1 BINARY.SIZE[2]").tagged
    assert w.cmd("FETCH 1 BINARY.PEEK[1]").status == "OK"
