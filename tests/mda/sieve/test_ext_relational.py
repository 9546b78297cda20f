"""relational (RFC 5231): :count and :value with comparators, and their errors."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import FileInto, Keep
from tests.mda.sieve.helpers import assert_syntax_error, folders, msg, sieve

# RFC 5231 §7 (the example message, trimmed to the fields the script reads)
RFC_MESSAGE = msg([
    ("Date", "Tue, 1 Apr 1997 09:06:31 -0800 (PST)"),
    ("From", "coyote@desert.example.org"),
    ("To", "roadrunner@acme.example.com"),
    ("Subject", "I have a present for you"),
    ("X-Priority", "1"),
])  # fmt: skip


def test_rfc5231_section7_example_files_into_priority():
    script = """require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] {
    fileinto "Priority";
}
elsif address :count "gt" :comparator "i;ascii-numeric" ["to"] ["5"] {
    # everything with more than 5 recipients in the "to" field is considered SPAM
    fileinto "SPAM";
}
elsif address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"] {
    fileinto "From N-Z";
} else {
    fileinto "From A-M";
}
if allof (address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] ["1"],
          address :all :comparator "i;ascii-casemap" ["to", "cc"] ["me@foo.example.com"]) {
    fileinto "Only me";
}
"""
    assert sieve(script, RFC_MESSAGE) == [FileInto("Priority")]


def test_count_counts_addresses_across_fields():
    script = """require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "crowd"; }"""
    few = msg({"To": "a@x.test, b@x.test"})
    many = msg({"To": "a@x.test, b@x.test", "Cc": "c@x.test"})
    assert folders(sieve(script, few)) == ["INBOX"]
    assert folders(sieve(script, many)) == ["crowd"]


@pytest.mark.parametrize(
    ("relation", "priority", "filed"),
    [("gt", "5", True), ("gt", "3", False), ("ge", "3", True), ("lt", "2", True),
     ("le", "3", True), ("eq", "03", True), ("ne", "3", False), ("GT", "9", True)],
)  # fmt: skip
def test_value_numeric_relations(relation, priority, filed):
    script = f"""require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "{relation}" :comparator "i;ascii-numeric" "x-priority" "3" {{
    fileinto "hit";
}}"""
    assert (folders(sieve(script, msg({"X-Priority": priority}))) == ["hit"]) is filed


def test_ascii_numeric_non_digits_are_positive_infinity():
    # RFC 4790 §9.1.1: a value without leading digits sorts after every number
    script = """require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "999999" { fileinto "inf"; }"""
    assert folders(sieve(script, msg({"X-Priority": "high"}))) == ["inf"]


def test_value_casemap_orders_strings():
    script = """require ["relational", "fileinto"];
if address :value "lt" :localpart "from" "m" { fileinto "a-m"; }"""
    assert folders(sieve(script, msg({"From": "Alice@x.test"}))) == ["a-m"]
    assert sieve(script, msg({"From": "zed@x.test"})) == [Keep(implicit=True)]


def test_count_of_no_values_is_zero():
    script = """require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "eq" :comparator "i;ascii-numeric" "x-none" "0" { fileinto "zero"; }"""
    assert folders(sieve(script, msg({}))) == ["zero"]


@pytest.mark.parametrize(
    ("script", "line", "column", "text"),
    [
        ('require "relational";\nif header :value "bigger" "to" "1" { stop; }', 2, 4,
         '"bigger" is not one of'),
        ('if header :count "gt" "to" "1" { stop; }', 1, 11, 'needs require "relational"'),
        ('require "relational";\nif header :count "gt" :is "to" "1" { stop; }', 2, 23,
         "conflicts"),
        ('require "relational";\nif header :value "to" "1" { stop; }', 2, 4, "'header' takes"),
    ],
)  # fmt: skip
def test_relational_errors_name_line_and_column(script, line, column, text):
    assert_syntax_error(script, line, column, text)
