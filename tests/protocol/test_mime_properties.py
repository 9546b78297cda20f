"""Properties of mailtool.protocol.mime on arbitrary input.

Any bytes give an ENVELOPE and a BODYSTRUCTURE (malformed MIME still has a
structure); the only exceptions are ProtocolError subclasses for requests
that cannot be served.  Sizes agree with the sections they describe.  Inputs
that would be quadratic for a naive splitter finish within the suite's
timeout (no timing is measured here; bench/ does that).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol import mime
from mailtool.protocol.imap.values import format_value, parse_value

FRAGMENTS = [
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b"--",
    b"--b",
    b"--b--",
    b"--bb",
    b"--c",
    b":",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b'Content-Type: multipart/alternative; boundary="c"\r\n',
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: multipart/digest; boundary=b\n",
    b"Content-Type: text/plain; charset=utf-8; name*0*=utf-8''%C3; name*1=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"MIME-Version: 1.0\r\n",
    b'From: "a, b" <a@b>, (c) d@e, g: h@i;\r\n',
    b'To: <@r:x@y>, "unterminated\r\n',
    b"Subject: =?utf-8?q?x?=\r\n",
    b"aGVsbG8=",
    b"=C3=A9=\r\n",
    b"(",
    b")",
    b'"',
    b"\\",
    b"<",
    b">",
    b"@",
    b",",
    b";",
    b"\x00",
    b"\xff",
]

mime_like = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join)
any_bytes = st.one_of(st.binary(max_size=3000), mime_like)


def _parts(part: mime.Part, path: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], mime.Part]]:
    out = [(path, part)] if path else []
    if part.kind == mime.MULTIPART:
        for i, child in enumerate(part.children, 1):
            out += _parts(child, (*path, i))
    elif part.kind == mime.RFC822 and part.children:
        inner = part.children[0]
        if inner.kind == mime.MULTIPART:
            for i, child in enumerate(inner.children, 1):
                out += _parts(child, (*path, i))
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(any_bytes)
def test_any_bytes_have_a_structure(raw: bytes) -> None:
    msg = mime.parse(raw)
    for value in (mime.envelope(msg), mime.bodystructure(msg), mime.bodystructure(msg, False)):
        assert parse_value(format_value(value)) == (value, b"")
    header, text = mime.section(msg, (), "HEADER"), mime.section(msg, (), "TEXT")
    assert header is not None and text is not None
    assert header + text == msg.raw.replace(b"\x00", b"\x80")
    assert mime.section(msg, (), "HEADER.FIELDS", ["From", "Content-Type"]) is not None
    for path, part in _parts(msg.root):
        assert part.start <= part.body_start <= part.body_end <= len(msg.raw)
        body = mime.section(msg, path)
        assert body is not None and len(body) == part.body_end - part.body_start
        assert mime.section(msg, path, "MIME") is not None
        try:
            mime.binary(msg, path)
        except ProtocolError:
            pass  # UnknownCTE: the one refusal BINARY may give


@settings(max_examples=300)
@given(
    st.one_of(st.text(max_size=300), any_bytes.map(lambda b: b.decode("utf-8", "surrogateescape")))
)
def test_decode_header_accepts_any_text(value: str) -> None:
    assert isinstance(mime.decode_header(value), str)


def test_many_boundary_lines_under_deep_nesting() -> None:
    # each line starting with "--" is compared with every open boundary: bounded
    # by max_depth, so the work stays linear in the number of lines
    opens = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(100)
    )
    raw = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + opens + b"--nope\r\n" * 200_000
    assert mime.bodystructure(raw)


def test_pathological_headers_finish() -> None:
    huge = {
        b"To": b"a@b, " * 100_000,
        b"From": b"(" * 100_000 + b"x",
        b"Cc": b'"' + b'\\"' * 100_000,
        b"Content-Type": b"text/plain" + b"; p*%d*=x" % 1 * 50_000,
        b"Subject": b"=?utf-8?q?a?= " * 50_000,
    }
    raw = b"".join(k + b": " + v + b"\r\n" for k, v in huge.items()) + b"\r\nbody"
    msg = mime.parse(raw)
    assert len(mime.envelope(msg)[5]) == 100_000
    assert mime.bodystructure(msg)[0] == "text"
    assert mime.decode_header(huge[b"Subject"].decode()).startswith("aaa")


def test_many_parts_finish() -> None:
    parts = b"--p\r\n\r\nx\r\n" * 100_000
    raw = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + parts
    msg = mime.parse(raw)
    assert len(msg.root.children) == mime.DEFAULT_LIMITS.max_parts - 1
