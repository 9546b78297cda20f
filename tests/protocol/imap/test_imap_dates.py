"""INTERNALDATE's text from a timestamp (the FETCH fast path) is the text of the
timestamp's UTC datetime, fraction dropped (RFC 9051 §9 date-time)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mailtool.protocol.imap.dates import format_datetime, format_timestamp


def test_a_known_instant() -> None:
    assert format_timestamp(1_600_000_000.75) == '"13-Sep-2020 12:26:40 +0000"'
    assert format_timestamp(1_000_000.0) == '"12-Jan-1970 13:46:40 +0000"'  # day padded


def test_before_the_epoch() -> None:
    assert format_timestamp(-86_400.5) == '"30-Dec-1969 23:59:59 +0000"'


@given(st.integers(min_value=-2_000_000_000, max_value=32_503_680_000))
def test_it_is_format_datetime_of_the_utc_datetime(seconds: int) -> None:
    utc = dt.datetime.fromtimestamp(seconds, dt.UTC)
    assert format_timestamp(seconds + 0.25) == format_datetime(utc).decode()
