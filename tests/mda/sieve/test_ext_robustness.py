"""Hostile input to the extensions of issue 18 part A: whatever the script and the
message, parsing ends in a script or a SieveSyntaxError with a place, and running ends
in actions or a SieveRuntimeError (never another exception, never a hang)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mda.sieve import Envelope, Interpreter, SieveRuntimeError, SieveSyntaxError, parse
from mailtool.mda.sieve.ext_include import INCLUDES
from tests.mda.sieve.helpers import msg

REQUIRE = (
    'require ["encoded-character", "mailbox", "relational", "regex", "include", "date",'
    ' "index", "environment", "ihave", "variables", "fileinto", "imap4flags",'
    ' "comparator-i;ascii-numeric"];\n'
)
# strings that hit the corners: regex syntax, encodings, zones, dates, names
NASTY = st.sampled_from([
    "", "*", "?", "\\\\", "(", ")", "[", "[[:alpha:]", "(?i)x", "a{99999}", "(a|aa)+$",
    "${hex:ff}", "${unicode:d800}", "${unicode:110000}", "${hex:41 4}", "${1}", "${global.x}",
    "+9999", "-0000", "0100", "date", "julian", "std11", "weekday", "received", "../x",
    "\u06f5", "\u00e9", "gt", "GE", "eq", "x" * 300,
]) | st.text(max_size=12)  # fmt: skip
NUMBERS = st.sampled_from(["0", "1", "2", "99", "1K"])
TEMPLATES = [
    "if header :regex {c} {s} {s} {{ fileinto {s}; }}",
    "if header :count {s} {c} {s} {s} {{ keep; }}",
    "if address :value {s} :index {n} {s} {s} {{ keep; }}",
    "if date :zone {s} {s} {s} {s} {{ keep; }}",
    "if date :originalzone :index {n} :last {s} {s} {s} {{ keep; }}",
    "if currentdate :zone {s} {s} {s} {{ keep; }}",
    "if environment :matches {s} {s} {{ fileinto {s}; }}",
    "if mailboxexists {s} {{ fileinto :create {s}; }}",
    "if ihave {s} {{ error {s}; }}",
    "include {s};",
    "include :global :optional :once {s};",
    "global {s}; set {s} {s};",
    "set {s} {s}; fileinto {s};",
]
COMPARATORS = st.sampled_from(
    ["", ':comparator "i;octet"', ':comparator "i;ascii-numeric"', ':comparator "x"']
)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def scripts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        template = draw(st.sampled_from(TEMPLATES))
        line = template
        while "{s}" in line or "{n}" in line or "{c}" in line:
            line = line.replace("{s}", quoted(draw(NASTY)), 1)
            line = line.replace("{n}", draw(NUMBERS), 1)
            line = line.replace("{c}", draw(COMPARATORS), 1)
        lines.append(line.replace("{{", "{").replace("}}", "}"))
    return REQUIRE + "\n".join(lines)


MESSAGE = msg([("Received", "from a by b; Tue, 1 Apr 1997 09:06:31 -0800"),
               ("Date", "not a date"), ("From", "x <y@z>"), ("Subject", "x" * 3000)])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(scripts())
def test_parse_and_run_fail_only_the_sieve_way(script):
    try:
        parsed = parse(script)
    except SieveSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
        return
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), MESSAGE,
                         services={INCLUDES: lambda location, name: script})  # fmt: skip
    try:
        interp.execute(parsed)
    except SieveRuntimeError:
        pass
    assert interp.finish()
