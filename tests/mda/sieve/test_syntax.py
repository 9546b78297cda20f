"""Syntax errors name line and column; bounded script size and nesting."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import Limits, SieveSyntaxError, check, parse
from mailtool.mda.sieve.lexer import tokenize


@pytest.mark.parametrize(
    ("script", "line", "column", "text"),
    [
        ("keep", 1, 5, "expected ';'"),
        ("if true {\n  keep;\n", 3, 1, "missing '}'"),
        ('require "fileinto";\nif true {\n  fileint "x";\n}', 3, 3, "unknown command"),
        ('keep;\nrequire "fileinto";', 2, 1, "require must come before"),
        ('require "nonsense";', 1, 1, "unsupported extension"),
        ('if header :is "a" {\n keep; }', 1, 4, "takes 2 positional"),
        ('if header :bogus "a" "b" { keep; }', 1, 11, "no tag :bogus"),
        ('if header :is :contains "a" "b" { keep; }', 1, 15, "conflicts"),
        ("elsif true { keep; }", 1, 1, "must follow"),
        ("if true keep;", 1, 1, "needs a block"),
        ('keep "x";', 1, 1, "takes 0 positional"),
        ("if size 10 { keep; }", 1, 4, "needs :over or :under"),
        ("/* never closed", 1, 1, "unterminated"),
        ('discard;\nif header "a" "b\n', 2, 15, "unterminated string"),
        ("if allof true { keep; }", 1, 4, "test list"),
        ('if header :comparator "i;nope" "a" "b" { keep; }', 1, 4, "unknown comparator"),
        ('redirect "not an address";', 1, 1, "not an address"),
        ("keep;\n  stop {}", 2, 3, "takes no block"),
        ('vacation "x";', 1, 1, 'needs require "vacation"'),
        ('require "reject";\nreject ["a", "b"];', 2, 8, "single string"),
        ("if not (true) { keep; }", 1, 4, "exactly one test"),
        ('require "variables";\nset "1" "x";', 2, 1, "not a variable name"),
        ("if size :over \u06f5 { keep; }", 1, 15, "unexpected character"),  # found by fuzz_sieve
    ],
)
def test_errors_name_line_and_column(script, line, column, text):
    with pytest.raises(SieveSyntaxError) as info:
        check(script)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert text in str(info.value)
    assert str(info.value).startswith(f"line {line}, column {column}: ")


def test_multiline_string_dot_stuffing_and_comments():
    tokens = tokenize("text: # comment\r\n..leading dot\r\nline\r\n.\r\n;")
    assert tokens[0].value == ".leading dot\r\nline\r\n"


def test_quoted_string_escapes_and_quantifiers():
    tokens = tokenize('"a\\"b\\\\c\\d" 2K 3M 1G')
    assert [t.value for t in tokens[:4]] == ['a"b\\cd', 2048, 3 << 20, 1 << 30]


def test_identifiers_and_tags_are_case_insensitive():
    parse('IF HEADER :CONTAINS "a" "b" { KEEP; } ELSE { Discard; }')


def test_invalid_utf8_is_located():
    with pytest.raises(SieveSyntaxError) as info:
        check(b"keep;\n# caf\xe9\n")
    assert (info.value.line, info.value.column) == (2, 6)


def test_size_and_nesting_limits():
    with pytest.raises(SieveSyntaxError, match="larger than"):
        check("keep;" * 100, limits=Limits(max_script_bytes=100))
    deep = "if true {" * 40 + "keep;" + "}" * 40
    with pytest.raises(SieveSyntaxError, match="nested deeper"):
        check(deep)
    check("if true {" * 10 + "keep;" + "}" * 10)
    deep_tests = "if " + "not " * 40 + "true { keep; }"
    with pytest.raises(SieveSyntaxError, match="nested deeper"):
        check(deep_tests)
