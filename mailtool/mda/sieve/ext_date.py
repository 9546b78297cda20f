"""``date`` (RFC 5260 §4-§5): the ``date`` and ``currentdate`` tests, ``:zone`` and
``:originalzone``, and the date parts they compare.

A date header that does not parse makes the test false for that field
(§4); the Received header's date is the part after its last ``;`` (§4).
Without ``:zone`` or ``:originalzone`` a date is seen in the server's local
time zone (§4.1). ``currentdate`` uses the interpreter's clock (``now``), so
a test can fix it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.ext_index import INDEX_EXTENSIONS, INDEX_TAGS, check_index, pick
from mailtool.mda.sieve.spec import COMPARE_GROUPS, COMPARE_TAGS, STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: RFC 5260 §4.2
DATE_PARTS = ("year", "month", "day", "date", "julian", "hour", "minute", "second", "time",
              "iso8601", "std11", "zone", "weekday")  # fmt: skip
_ZONE_RE = re.compile(r"^[+-][0-9]{4}$")  # RFC 5260 §4.1.1: +/-hhmm
_MJD_EPOCH = date(1858, 11, 17)  # RFC 5260 §4.2 julian: Modified Julian Day 0
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def zone_offset(text: str) -> timezone:
    """``+hhmm`` / ``-hhmm`` as a timezone; a bad one built from variables fails the script."""
    if not _ZONE_RE.match(text):
        raise SieveRuntimeError(f':zone "{text}" is not +hhmm or -hhmm')
    sign = -1 if text[0] == "-" else 1
    minutes = int(text[1:3]) * 60 + int(text[3:5])
    return timezone(sign * timedelta(minutes=minutes))


def _local(moment: datetime) -> datetime:
    return moment.astimezone()  # the server's zone, as RFC 5260 §4.1 says when none is named


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date-time (with its own offset), or None when it is not one."""
    if not value.isascii():  # RFC 5322 §3.3 is ASCII; int() would take '۱' for 1
        return None
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    try:
        base = datetime(*parsed[:6])  # type: ignore[misc]
        offset = parsed[9] or 0
        if not -86400 < offset < 86400:
            return None
        return base.replace(tzinfo=timezone(timedelta(seconds=offset)))
    except (ValueError, OverflowError, TypeError):
        return None


def _zone_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def date_part(moment: datetime, part: str) -> str:
    """RFC 5260 §4.2: one part of ``moment`` (already in the wanted zone) as text."""
    if part == "year":
        return f"{moment.year:04d}"
    if part == "month":
        return f"{moment.month:02d}"
    if part == "day":
        return f"{moment.day:02d}"
    if part == "date":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if part == "julian":
        return str((moment.date() - _MJD_EPOCH).days)
    if part == "hour":
        return f"{moment.hour:02d}"
    if part == "minute":
        return f"{moment.minute:02d}"
    if part == "second":
        return f"{moment.second:02d}"
    if part == "time":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    if part == "iso8601":
        zone = _zone_text(moment)
        return f"{date_part(moment, 'date')}T{date_part(moment, 'time')}{zone[:3]}:{zone[3:]}"
    if part == "std11":
        return (f"{_DAYS[moment.weekday()]}, {moment.day} {_MONTHS[moment.month - 1]} "
                f"{moment.year:04d} {date_part(moment, 'time')} {_zone_text(moment)}")  # fmt: skip
    if part == "zone":
        return _zone_text(moment)
    return str((moment.weekday() + 1) % 7)  # weekday: 0 is Sunday


def _in_zone(interp: Interpreter, node: Node, moment: datetime) -> datetime:
    if node.tagged.get("timezone") == "originalzone":
        return moment
    if "zone" in node.tagged:
        return moment.astimezone(zone_offset(interp.expand(node.tagged["zone"])))
    return _local(moment)


def _header_dates(interp: Interpreter, node: Node, name: str) -> list[datetime]:
    out = []
    for value in pick(node, interp.message.headers(name)):
        if name.lower() == "received":  # RFC 5260 §4: the date after the last ';'
            value = value.rpartition(";")[2]
        moment = parse_date(value)
        if moment is not None:
            out.append(moment)
    return out


def _date(interp: Interpreter, node: Node) -> bool:
    name, part, keys = node.positional
    part = interp.expand(part).lower()
    if part not in DATE_PARTS:
        return False
    moments = _header_dates(interp, node, interp.expand(name))
    if not moments:
        return False  # RFC 5260 §4: no such header, or not a date: false (even for :count)
    values = [date_part(_in_zone(interp, node, m), part) for m in moments]
    return interp.match(node, values, interp.expand_all(keys))


def _currentdate(interp: Interpreter, node: Node) -> bool:
    part, keys = node.positional
    part = interp.expand(part).lower()
    if part not in DATE_PARTS:
        return False
    now = datetime.fromtimestamp(interp.now, UTC)
    return interp.match(node, [date_part(_in_zone(interp, node, now), part)],
                        interp.expand_all(keys))  # fmt: skip


def _check_zone_and_part(node: Node, extensions: set[str]) -> None:
    zone = node.tagged.get("zone")
    if zone is not None and "${" not in zone and not _ZONE_RE.match(zone):
        raise SieveSyntaxError(f':zone "{zone}" is not +hhmm or -hhmm', node.line, node.column)
    part = node.positional[-2]
    if "${" not in part and part.lower() not in DATE_PARTS:
        raise SieveSyntaxError(f'unknown date part "{part}"', node.line, node.column)
    check_index(node, extensions)


ZONE_TAGS = {"zone": STRING, "originalzone": None}
register(Spec("date", "test", positional=(STRING, STRING, STRINGS),
              tags={**COMPARE_TAGS, **ZONE_TAGS, **INDEX_TAGS},
              groups={**COMPARE_GROUPS, "timezone": ("zone", "originalzone")},
              extension="date", tag_extensions=INDEX_EXTENSIONS,
              run=_date, check=_check_zone_and_part))  # fmt: skip
register(Spec("currentdate", "test", positional=(STRING, STRINGS),
              tags={**COMPARE_TAGS, "zone": STRING}, groups=COMPARE_GROUPS,
              extension="date", run=_currentdate, check=_check_zone_and_part))  # fmt: skip
