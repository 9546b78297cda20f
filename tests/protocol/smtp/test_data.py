"""DATA: dot-stuffing both ways, limits, and the SMTP smuggling variants."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailtool.protocol.smtp import DataError, DataReader, DotStuffer, dot_stuff
from tests.protocol.wire_strategies import wire


def read_all(wire: bytes, chunks: list[int] | None = None, **kw) -> tuple[DataReader, bytes]:
    reader = DataReader(**kw)
    out = []
    pos = 0
    for size in chunks or [len(wire)]:
        out.append(reader.feed(wire[pos : pos + size]))
        pos += size
    out.append(reader.feed(wire[pos:]))
    return reader, b"".join(out)


def test_simple_message_and_pipelined_rest():
    reader, content = read_all(b"Subject: x\r\n\r\nBlah blah blah...\r\n.\r\nQUIT\r\n")
    assert content == b"Subject: x\r\n\r\nBlah blah blah...\r\n"
    assert reader.done and reader.rest == b"QUIT\r\n"
    assert reader.finish() == len(content)


def test_empty_message():
    reader, content = read_all(b".\r\n")
    assert reader.done and content == b"" and reader.finish() == 0


def test_unstuffing_drops_one_leading_dot_per_line():
    # RFC 5321 §4.5.2
    _, content = read_all(b"..\r\n...x\r\n.y\r\na.b\r\n.\r\n")
    assert content == b".\r\n..x\r\ny\r\na.b\r\n"


@pytest.mark.parametrize(
    "smuggle",
    [
        b"\n.\n",  # the 2023 smuggling variants: none of them end DATA here
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r\n.\r",
        b"\r.\r\n",
        b"\n.\r",
    ],
)
def test_smuggling_terminators_never_end_data_and_are_reported(smuggle):
    wire = b"Subject: a\r\n\r\nhello" + smuggle + b"MAIL FROM:<evil@x>\r\nDATA\r\n\r\nbye\r\n.\r\n"
    reader, content = read_all(wire)
    assert reader.done and reader.rest == b""
    assert b"MAIL FROM:<evil@x>" in content  # it stayed message content
    assert reader.bare_cr + reader.bare_lf >= 1
    with pytest.raises(DataError) as exc:
        reader.finish()
    assert exc.value.reply.code == 550
    assert exc.value.reply.enhanced == "5.5.2"


@pytest.mark.parametrize(("data", "cr", "lf"), [(b"a\rb", 1, 0), (b"a\nb", 0, 1), (b"\n\r", 1, 1)])
def test_bare_line_ends_are_counted(data, cr, lf):
    reader, _ = read_all(b"x\r\n" + data + b"\r\n.\r\n")
    assert (reader.bare_cr, reader.bare_lf) == (cr, lf)


def test_size_limit_keeps_reading_to_the_end_then_552():
    wire = b"x" * 100 + b"\r\n" + b"y" * 100 + b"\r\n.\r\nQUIT\r\n"
    reader, content = read_all(wire, [7] * 40, max_size=150)
    assert reader.done and reader.rest == b"QUIT\r\n"
    assert len(content) == 150  # nothing past the limit was handed out
    assert reader.size == 204
    with pytest.raises(DataError) as exc:
        reader.finish()
    assert (exc.value.reply.code, exc.value.reply.enhanced) == (552, "5.3.4")


def test_long_lines_counted_and_optionally_refused():
    wire = b"a" * 1200 + b"\r\nshort\r\n.\r\n"
    reader, _ = read_all(wire)
    assert reader.long_lines == 1 and reader.finish() == 1209
    reader, _ = read_all(wire, reject_long_lines=True)
    with pytest.raises(DataError) as exc:
        reader.finish()
    assert exc.value.reply.code == 500


def test_finish_before_done_is_a_programming_error():
    reader = DataReader()
    reader.feed(b"abc")
    with pytest.raises(RuntimeError):
        reader.finish()


def test_feed_after_done_goes_to_rest():
    reader = DataReader()
    reader.feed(b".\r\nNO")
    assert reader.feed(b"OP\r\n") == b""
    assert reader.rest == b"NOOP\r\n"


def test_stuffer_converts_lf_and_stuffs_across_chunks():
    s = DotStuffer()
    out = s.feed(b".a\n") + s.feed(b".b\r") + s.feed(b"\n") + s.feed(b".") + s.feed(b"c") + s.end()
    assert out == b"..a\r\n..b\r\n..c\r\n.\r\n"
    assert dot_stuff(b"") == b".\r\n"
    assert dot_stuff(b"x\r\n") == b"x\r\n.\r\n"
    assert dot_stuff(b"x\r") == b"x\r\n.\r\n"
    assert dot_stuff(b".\n", crlf=False) == b"..\n\r\n.\r\n"


_content = st.lists(
    st.sampled_from([b".", b"..", b"a", b"\r\n", b"\r", b"\n", b"x.y", b"\r\n.\r\n"]), max_size=30
).map(b"".join)


@given(_content, st.lists(st.integers(1, 7), max_size=30))
def test_stuff_then_read_gives_crlf_normalised_content(content, cuts):
    wire = dot_stuff(content)
    reader, got = read_all(wire + b"NEXT", cuts)
    assert reader.done and reader.rest == b"NEXT"
    assert reader.bare_cr == reader.bare_lf == 0
    normalised = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if normalised and not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    assert got == normalised


def outcome(reader: DataReader) -> tuple:
    return (reader.done, reader.rest, reader.size, reader.bare_cr, reader.bare_lf,
            reader.long_lines)  # fmt: skip


@given((st.binary(max_size=400) | wire()), st.lists(st.integers(1, 50), max_size=20))
def test_any_bytes_any_chunking_give_the_same_result(data, cuts):
    whole, content = read_all(data)
    split, content2 = read_all(data, cuts)
    assert content == content2
    assert outcome(whole) == outcome(split)


_line = st.sampled_from([b"", b".", b"..x", b"a" * 6, b"b" * 7, b"c" * 8, b"d" * 9, b"x\ry"])
_end = st.sampled_from([b"\r\n"] * 5 + [b"\n", b"\r", b""])


@given(st.lists(st.tuples(st.lists(_line, max_size=2), _end), max_size=25),
       st.integers(6, 11))  # fmt: skip
@example([([b"a" * 6], b"\r\n"), ([b"b" * 7], b"\r\n"), ([b"."], b"\r\n")], 8)  # at the limit
def test_whole_lines_taken_at_once_read_as_octet_by_octet(parts, max_line):
    # the bulk path (whole lines) against the careful loop (one octet per feed never
    # holds a whole line): same content, line-length counts, bare CR/LF and end
    data = b"".join(b"".join(p) + end for p, end in parts) + b"\r\n.\r\nNOOP\r\n"
    whole, content = read_all(data, max_line=max_line, max_size=120)
    octets, content2 = read_all(data, [1] * len(data), max_line=max_line, max_size=120)
    assert content == content2
    assert outcome(whole) == outcome(octets)


def test_large_message_streams_in_linear_time():
    # 8 MB of short lines and 8 MB without any line end: both just pass through
    reader = DataReader(max_size=64 * 1024 * 1024)
    total = 0
    for _ in range(128):
        total += len(reader.feed(b"0123456789 abcdef\r\n" * 3400))
    for _ in range(128):
        total += len(reader.feed(b"z" * 65536))
    reader.feed(b"\r\n.\r\n")
    assert reader.done and reader.finish() == total + 2
