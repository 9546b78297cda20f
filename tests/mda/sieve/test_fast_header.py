"""The Sieve message view's own header splitter (message.header_fields) gives the fields
Python's email parser (compat32, what it replaced) gives, quirks included."""

from __future__ import annotations

import email
import email.policy

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mda.sieve.message import MessageView, header_fields

PIECES = ["From ", "Subject", "X-A", ":", ": ", " ", "\t", "\r", "\n", "\r\n", "\r\n\r\n",
          "a", "B", "é", "\x00", "\x7f", ">From x", "=?utf-8?q?x?=", "\u00ff", "["]  # fmt: skip
RAW = st.lists(st.sampled_from(PIECES), max_size=40).map(lambda p: "".join(p).encode())
FIELD = st.tuples(st.sampled_from(["Subject", "X-A", "From", "to", "From "]),
                  st.text(alphabet="ab é\t:", max_size=6),
                  st.sampled_from(["\r\n", "\n", "\r\n ", "\r\n\t", "\r"]))  # fmt: skip
HEADERS = st.lists(FIELD, max_size=6).map(lambda f: "".join(n + ":" + v + e for n, v, e in f))


def parsed(raw: bytes) -> list[tuple[str, str]]:
    return list(email.message_from_bytes(raw, policy=email.policy.compat32)._headers)


@settings(max_examples=400, deadline=None)
@given(raw=RAW)
def test_fields_of_any_bytes_are_the_email_parsers(raw):
    assert header_fields(raw) == parsed(raw)


@settings(max_examples=200, deadline=None)
@given(head=HEADERS, prefix=st.sampled_from(["", "From a@b Mon\r\n", " x\r\n", ":x\r\n"]),
       body=st.sampled_from(["\r\n\r\nbody\r\n", "\n\nbody", "", "\r\nFrom x\r\n"]))  # fmt: skip
def test_fields_of_header_like_input_are_the_email_parsers(head, prefix, body):
    raw = (prefix + head + body).encode()
    assert header_fields(raw) == parsed(raw)
    view = MessageView(raw)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for name in ("subject", "X-A", "from", "to"):
        assert view.raw_headers(name) == [str(v) for v in message.get_all(name, [])]
