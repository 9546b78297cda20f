"""date and index (RFC 5260): date, currentdate, :zone, :originalzone, :index/:last."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailtool.mda.sieve import FileInto, Keep
from mailtool.mda.sieve.ext_date import date_part, parse_date
from tests.mda.sieve.helpers import assert_syntax_error, folders, msg, sieve

DATED = msg([
    ("Received", "from a.example by mx.example; Sat, 5 Apr 1997 23:00:00 +0000"),
    ("Received", "from b.example by a.example; Sat, 5 Apr 1997 22:59:00 +0000"),
    ("Date", "Tue, 1 Apr 1997 09:06:31 -0800 (PST)"),
    ("From", "boss@example.com"),
])  # fmt: skip


def test_rfc5260_section7_office_hours_example():
    script = """require ["date", "relational", "fileinto"];
if allof(header :is "from" "boss@example.com",
         date :value "ge" :originalzone "date" "hour" "09",
         date :value "lt" :originalzone "date" "hour" "17")
{ fileinto "urgent"; }"""
    assert sieve(script, DATED) == [FileInto("urgent")]


def test_rfc5260_section7_weekend_example_uses_the_received_date():
    script = """require ["date", "fileinto"];
if anyof(date :is :zone "+0000" "received" "weekday" "0",
         date :is :zone "+0000" "received" "weekday" "6")
{ fileinto "weekend"; }"""
    assert sieve(script, DATED) == [FileInto("weekend")]


def test_rfc5260_currentdate_vacation_window():
    # RFC 5260 §7: vacation only between two dates
    script = """require ["date", "relational", "vacation"];
if allof(currentdate :value "ge" "date" "2026-12-01",
         currentdate :value "le" "date" "2026-12-31")
{ vacation :days 7 "I'm away during December."; }"""
    december = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()
    january = datetime(2027, 1, 7, 12, tzinfo=UTC).timestamp()
    message = msg({"To": "me@example.com", "From": "x@example.org", "Subject": "hi"})
    assert len(sieve(script, message, now=december)) == 2  # the reply and the keep
    assert sieve(script, message, now=january) == [Keep(implicit=True)]


def test_zone_converts_and_originalzone_keeps():
    script = """require ["date", "variables", "fileinto"];
if date :matches :zone "+0100" "date" "iso8601" "*" { set "a" "${0}"; }
if date :matches :originalzone "date" "zone" "*" { set "b" "${0}"; }
fileinto "${a} ${b}";"""
    assert folders(sieve(script, DATED)) == ["1997-04-01T18:06:31+01:00 -0800"]


@pytest.mark.parametrize(
    ("part", "value"),
    [("year", "1997"), ("month", "04"), ("day", "01"), ("date", "1997-04-01"),
     ("julian", "50539"), ("hour", "17"), ("minute", "06"), ("second", "31"),
     ("time", "17:06:31"), ("iso8601", "1997-04-01T17:06:31+00:00"),
     ("std11", "Tue, 1 Apr 1997 17:06:31 +0000"), ("zone", "+0000"), ("weekday", "2")],
)  # fmt: skip
def test_rfc5260_section4_2_date_parts(part, value):
    moment = parse_date("Tue, 1 Apr 1997 09:06:31 -0800").astimezone(UTC)
    assert date_part(moment, part) == value


def test_a_missing_or_bad_date_is_false():
    script = """require ["date", "fileinto"];
if date :matches "date" "year" "*" { fileinto "dated"; }"""
    assert folders(sieve(script, msg({}))) == ["INBOX"]
    assert folders(sieve(script, msg({"Date": "yesterday at noon"}))) == ["INBOX"]
    # RFC 5322 §3.3 digits are ASCII (Python's int() takes U+06F1 for 1)
    assert folders(sieve(script, msg({"Date": "Tue, \u06f1 Apr 1997 09:06:31 -0800"}))) == ["INBOX"]
    assert folders(sieve(script, DATED)) == ["dated"]


def test_rfc5260_section7_index_example():
    script = """require ["index", "date", "fileinto"];
if date :index 1 :zone "+0000" "received" "time" "23:00:00" { fileinto "first"; }
if date :index 1 :last :zone "+0000" "received" "time" "22:59:00" { fileinto "last"; }
if header :index 2 :contains "received" "from b.example" { fileinto "second"; }
if header :index 3 :contains "received" "" { fileinto "third"; }"""
    assert folders(sieve(script, DATED)) == ["first", "last", "second"]


def test_index_on_address_picks_one_field():
    script = """require ["index", "fileinto"];
if address :index 2 :is "to" "b@x.test" { fileinto "hit"; }"""
    two = msg([("To", "a@x.test"), ("To", "b@x.test")])
    assert folders(sieve(script, two)) == ["hit"]
    assert folders(sieve(script, msg([("To", "b@x.test")]))) == ["INBOX"]


@pytest.mark.parametrize(
    ("script", "line", "column", "text"),
    [
        ('require "date";\nif date :zone "0100" "date" "hour" "1" { stop; }', 2, 4, ":zone"),
        ('require "date";\nif date "date" "fortnight" "1" { stop; }', 2, 4, "date part"),
        ('require "date";\nif currentdate :originalzone "hour" "1" { stop; }', 2, 16, "no tag"),
        ('require "date";\nif date :zone "+0100" :originalzone "date" "hour" "1" { stop; }', 2, 23,
         "conflicts"),
        ('require "index";\nif header :last "to" "x" { stop; }', 2, 4, ":last needs :index"),
        ('require "index";\nif header :index 0 "to" "x" { stop; }', 2, 4, "from 1"),
        ('if header :index 1 "to" "x" { stop; }', 1, 11, 'needs require "index"'),
        ('if date "date" "hour" "1" { stop; }', 1, 4, 'needs require "date"'),
    ],
)  # fmt: skip
def test_date_and_index_errors_name_line_and_column(script, line, column, text):
    assert_syntax_error(script, line, column, text)
