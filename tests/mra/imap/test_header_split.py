"""The one-pass field split the header cache and the sort fields share
(:func:`~mailtool.mra.imap.headers.split_fields`) gives each of them the values its
general splitter gives, over the MIME corpus and headers of unusual shapes; the usual
Date: and subject forms read without the stdlib give the same keys."""

from __future__ import annotations

import email.utils
import re
from pathlib import Path

import pytest

from mailtool.mra.imap import headers, sort_fields
from mailtool.protocol.imap import sort as psort
from mailtool.protocol.imap.sort import base_subject
from mailtool.store.interfaces import HEADER_FIELDS, read_header

CORPUS = sorted((Path(__file__).parents[2] / "data" / "mime").glob("*.eml"))
ODD = [
    b"Subject: a\r\n  folded\r\n\tmore\r\nFrom: B <b@x.test>\r\n\r\n",
    b"From: a@x\nTo: b@y\n\n",  # bare LFs
    b"Subject: one\r\nno colon here\r\nSubject: two\r\n\r\n",  # a line that is no field
    b" leading continuation\r\nSubject: x\r\n\r\n",
    b"Subject : spaced name\r\nCC:c@x\r\nDate: Fri, 27 Nov 2026 12:00:00 -0000\r\n\r\n",
    b"Subject: caf\xe9 =?utf-8?q?caf=C3=A9?=\r\nfrom: =?iso-8859-1?q?Andr=E9?= <a@x>\r\n\r\n",
    b"Subject: no end of header",
    b"\r\n",
    b"",
]


def _blocks() -> list[bytes]:
    out = list(ODD)
    for path in CORPUS:
        with path.open("rb") as fh:
            out.append(read_header(fh))
    return out


@pytest.mark.parametrize("block", _blocks())
def test_split_gives_what_the_general_splitters_give(
    block: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = (headers.decoded_fields(block, HEADER_FIELDS), sort_fields.fields_of(block))
    monkeypatch.setattr(headers, "split_fields", lambda header: None)
    monkeypatch.setattr(sort_fields, "split_fields", lambda header: None)
    assert fast == (headers.decoded_fields(block, HEADER_FIELDS), sort_fields.fields_of(block))


def test_usual_shapes_take_the_one_pass_split() -> None:
    block = b"From: B <b@x.test>\r\nSubject: hi\r\n there\r\nDate: x\r\n\r\n"
    assert headers.split_fields(block) == [
        (b"from", b"B <b@x.test>"), (b"subject", b"hi there"), (b"date", b"x")
    ]  # fmt: skip
    assert headers.split_fields(b"Subject: one\r\nno colon\r\n\r\n") is None


@pytest.mark.parametrize("value", [
    "Fri, 27 Nov 2026 12:00:00 +0000", "27 Nov 2026 23:59:59 -0130",
    "Mon,1 Jan 1900 00:00:00 +1400",
    "Sun, 31 Dec 9999 23:59:60 +0000", "Tue, 40 Feb 2026 25:61:61 +0099",
    "Wed, 1 Mar 0050 00:00:00 +0000",  # a year below 100: the stdlib's two-digit rule
])  # fmt: skip
def test_usual_dates_give_the_stdlib_seconds(value: str) -> None:
    parsed = email.utils.parsedate_tz(value)
    assert parsed is not None
    assert sort_fields._sent(value) == float(email.utils.mktime_tz(parsed))


@pytest.mark.parametrize("subject", [
    "msg 12 ipsum dolor", "a", "", "ends with)", "Re: x", "x  y", " x", "x ", "[list] x",
    "x (fwd)", "x\ty",
])  # fmt: skip
def test_plain_subjects_skip_the_steps_unchanged(
    subject: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = base_subject(subject)
    monkeypatch.setattr(psort, "_PLAIN", re.compile(r"(?!)"))  # never: every step runs
    assert fast == base_subject(subject)
