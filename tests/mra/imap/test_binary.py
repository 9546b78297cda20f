"""BINARY (RFC 3516, issue 16 class 8): sizes and bytes are the decoded ones, every
BINARY literal is a literal8, BINARY[] decodes each leaf (as Dovecot does)."""

from __future__ import annotations

import base64
import quopri

from hypothesis import given, settings
from hypothesis import strategies as st

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


_payloads = st.one_of(
    st.tuples(st.just("base64"), st.binary(max_size=300)),
    st.tuples(
        st.just("quoted-printable"),
        st.lists(
            st.text(max_size=90).map(lambda t: t.replace("\r", "").replace("\n", "")), max_size=4
        ).map(lambda lines: "\r\n".join(lines).encode("utf-8")),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_payloads, min_size=1, max_size=4))
def test_binary_gives_back_what_was_encoded(parts: list[tuple[str, bytes]]) -> None:
    body = []
    for enc, payload in parts:
        if enc == "base64":
            wire = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        else:
            wire = quopri.encodestring(payload.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
            # the CRLF before a boundary is the boundary's (RFC 2046 §5.1.1): a payload
            # that ends in a line break keeps it through a soft break ("=") at the end
            if payload.endswith(b"\r\n") or not payload:
                wire += b"=\r\n" if wire and not wire.endswith(b"=\r\n") else b""
        body.append(
            b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: "
            + enc.encode() + b"\r\n\r\n" + wire.rstrip(b"\r\n") + b"\r\n"
        )  # fmt: skip
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        + b"".join(body)
        + b"--B--\r\n"
    )
    msg = mime.parse(raw)
    for n, (enc, payload) in enumerate(parts, 1):
        got = mime.binary(msg, (n,))
        assert got == payload, (enc, payload, got)
        assert mime.binary_size(msg, (n,)) == len(payload)
    whole = mime.binary(msg)
    assert whole is not None and all(p in whole for _, p in parts)
