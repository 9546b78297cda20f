"""IMAP dates: ``1-Feb-1994`` (SEARCH) and ``"17-Jul-1996 02:44:25 -0700"``
(INTERNALDATE, APPEND) - RFC 9051 §9 date / date-time."""

from __future__ import annotations

import datetime as dt
import re
import time

from mailtool.protocol.imap.tokenizer import Cursor

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.upper(): i + 1 for i, m in enumerate(MONTHS)}
# date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year
_DATE = re.compile(rb'("?)([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})\1')
# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)


def format_date(d: dt.date) -> bytes:
    """``1-Feb-1994``."""
    return b"%d-%s-%04d" % (d.day, MONTHS[d.month - 1].encode(), d.year)


def format_datetime(t: dt.datetime) -> bytes:
    """``"17-Jul-1996 02:44:25 -0700"`` (naive datetimes are taken as UTC)."""
    offset = t.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = b"-" if minutes < 0 else b"+"
    hh, mm = divmod(abs(minutes), 60)
    return b'"%2d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        t.day, MONTHS[t.month - 1].encode(), t.year, t.hour, t.minute, t.second, sign, hh, mm,
    )  # fmt: skip


def format_timestamp(seconds: float) -> str:
    """:func:`format_datetime` of the UTC time ``seconds`` after the epoch (the
    fraction dropped), without a datetime: a client's first sync asks the
    INTERNALDATE of 20,000 messages, and building each datetime was a fifth of it."""
    t = time.gmtime(seconds)
    return (f'"{t.tm_mday:2d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year:04d} '
            f'{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"')  # fmt: skip


def read_date(cur: Cursor) -> dt.date:
    m = _DATE.match(cur.buf, cur.pos)
    month = _MONTH_NUMBER.get(m.group(3).decode().upper()) if m else None
    if not m or not month:
        cur.error("expected a date like 1-Feb-1994")
    try:
        value = dt.date(int(m.group(4)), month, int(m.group(2)))
    except ValueError:
        cur.error("no such date")
    cur.pos = m.end()
    return value


def read_datetime(cur: Cursor) -> dt.datetime:
    m = _DATE_TIME.match(cur.buf, cur.pos)
    month = _MONTH_NUMBER.get(m.group(2).decode().upper()) if m else None
    if not m or not month:
        cur.error('expected a date-time like "17-Jul-1996 02:44:25 -0700"')
    day, _, year, hour, minute, second, sign, zh, zm = m.groups()
    offset = dt.timedelta(hours=int(zh), minutes=int(zm))
    try:
        value = dt.datetime(
            int(year), month, int(day), int(hour), int(minute), int(second),
            tzinfo=dt.timezone(-offset if sign == b"-" else offset),
        )  # fmt: skip
    except ValueError:
        cur.error("no such date-time")
    cur.pos = m.end()
    return value


__all__ = ["MONTHS", "format_date", "format_datetime", "read_date", "read_datetime"]
