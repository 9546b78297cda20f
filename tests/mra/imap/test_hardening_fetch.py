"""Streamed FETCH output is the bytes the whole-response formatter gave (issue 15).

Whole messages now come from the file in chunks (:mod:`mailtool.mra.imap.message_file`)
and every response is written item by item; the reference here is the old way:
the message parsed in memory, each item's value made by ``fetch._value`` (the
unchanged item semantics), the response formatted whole by ``format_response``.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mra.imap.backend import MessageMeta
from mailtool.mra.imap.fetch import _value
from mailtool.mra.imap.message_file import MessageFile, is_whole_message
from mailtool.protocol import mime
from mailtool.protocol.imap.fetch import FetchAttr, Section
from mailtool.protocol.imap.fetch_stream import fetch_item
from mailtool.protocol.imap.responses import FetchData, format_response
from tests.mra.imap.conftest import Imap
from tests.mra.imap.test_hardening import Raw

raw_messages = st.lists(
    st.sampled_from(
        [b"Subject: x\r\n", b"\r\n", b"\n", b"\r", b"body", b"\x00", b"\xe9", b"a\r\n\r\nb"]
    ),
    max_size=40,
).map(b"".join)
# BINARY[] is not sent from the file (its parts are decoded: RFC 3516 §4.2)
whole_attrs = st.sampled_from(["RFC822", "BODY"]).flatmap(
    lambda name: st.builds(
        FetchAttr,
        st.just(name),
        st.just(None if name == "RFC822" else Section()),
        st.none()
        if name == "RFC822"
        else st.none() | st.tuples(st.integers(0, 300), st.integers(1, 300)),
    )
)


@settings(max_examples=400)
@given(raw_messages, whole_attrs, st.sampled_from([1, 2, 3, 64 * 1024]))
def test_message_file_sends_what_the_parsed_message_did(
    raw: bytes, attr: FetchAttr, chunk: int
) -> None:
    assert is_whole_message(attr)
    old = _value(attr, _META, mime.parse(raw))
    size, literal8, chunks = MessageFile(io.BytesIO(raw), chunk).literal(attr)
    sent = b"".join(chunks)
    assert sent == old and size == len(old)
    old_text, _ = fetch_item(attr.response_key(), old, first=True)
    assert old_text.endswith(b"~{%d}\r\n" % size if literal8 else b" {%d}\r\n" % size)


class _Meta:
    uid = 1
    flags = frozenset({"\\Seen"})
    modseq = 5
    size = 0
    internal_date = 1_700_000_000.0


_META: MessageMeta = _Meta()  # type: ignore[assignment]

MIME = (
    b"From: a@example.test\nTo: b@example.test\nSubject: parts\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="XX"\n\npreamble\n--XX\n'
    b"Content-Type: text/plain\n\nplain \x00 text\r\nwith bare\nLFs\n--XX\n"
    b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
    b"AAECAwQFBgcICQ==\n--XX--\nepilogue\n"
)


BIG_MIME = MIME.replace(b"with bare\nLFs\n", b"with bare\nLFs\n" * 5000)


@pytest.mark.parametrize("raw_message", [MIME, BIG_MIME], ids=["small", "big"])
@pytest.mark.parametrize(
    "items",
    [
        "(UID BODY.PEEK[] RFC822.SIZE)",
        "(BODY.PEEK[]<10.50> BODY.PEEK[]<1000.5> RFC822 BINARY.PEEK[] BINARY.PEEK[]<40.30>)",
        "(FLAGS BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[]<5.20>)",
        "(ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject To)] BODY.PEEK[TEXT]<3.9>)",
        "(RFC822.HEADER RFC822.TEXT BODY BINARY.PEEK[1]<2.4> INTERNALDATE)",
    ],
)
def test_streamed_fetch_is_byte_identical(imap: Imap, items: str, raw_message: bytes) -> None:
    # small: formatted whole; big: written item by item (and whole messages from the file)
    imap.mail().deliver(raw_message, flags=["\\Seen"])  # RFC822 (not a PEEK) changes no flag then
    imap.take_recent()  # the reference's flags have no \Recent
    raw = Raw(imap)
    raw.command("SELECT INBOX")
    raw.send(b"f1 UID FETCH 1 " + items.encode() + b"\r\n")
    answer = raw.read_until_tagged(b"f1")
    # the reference: every item made from the parsed message, the response formatted whole
    from mailtool.protocol.imap.command_parser import parse_command

    cmd = parse_command(b"f1 UID FETCH 1 " + items.encode() + b"\r\n")
    attrs = [FetchAttr("UID"), *cmd.attributes]  # type: ignore[attr-defined]
    meta = imap.mail().folder("INBOX").message(1)
    msg = mime.parse(raw_message)
    values = [(a.response_key(), _value(a, meta, msg)) for a in attrs]
    seen = set()
    unique = []
    for key, value in values:  # UID asked again is answered once
        if str(key) == "UID" and "UID" in seen:
            continue
        seen.add(str(key))
        unique.append((key, value))
    expected = format_response(FetchData(1, tuple(unique)))
    assert answer == expected + b"f1 OK UID FETCH completed\r\n"
    raw.command("LOGOUT")
