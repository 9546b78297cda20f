"""Hostile scripts and messages: only SieveError comes out, mail is always kept somewhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mda.filtering import run_filters
from mailtool.mda.sieve import Envelope, SieveError, check

FRAGMENTS = [
    "require", '"fileinto"', '["a", "b"]', "if", "elsif", "else", "{", "}", "(", ")", ",", ";",
    "header", ":contains", ":matches", ":is", '"*?*"', "address", ":domain", "envelope",
    "fileinto", "keep", "discard", "stop", "redirect", '"x@y.test"', "set", '"v"', '"${v}"',
    "vacation", ":days", "0", "99999999999", "text:\n.\n", "anyof", "allof", "not", "true",
    "size", ":over", "1K", "body", ":raw", "# c\n", "/* c */", "\\", '"', "setflag",
    "hasflag", "reject", "ereject", ":copy", ":flags", "string",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_random_scripts_only_raise_sieve_errors(parts):
    try:
        check(" ".join(parts))
    except SieveError as exc:
        assert exc.line >= 1 and exc.column >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_script_bytes_only_raise_sieve_errors(data):
    try:
        check(data)
    except SieveError:
        pass


SCRIPT = """require ["fileinto", "variables", "body", "envelope", "subaddress", "imap4flags"];
if header :matches "subject" "*[*]*" { fileinto "L/${2}"; }
if address :domain :matches ["from", "to"] "*.*" { addflag "${1}"; }
if body :text :contains "x" { keep; }
if envelope :detail "to" "" { discard; }
"""


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.text(max_size=60), st.text(max_size=60))
def test_any_message_and_envelope_is_delivered_somewhere(message, sender, recipient):
    decision = run_filters(SCRIPT, None, Envelope(sender, recipient), message)
    if not decision.deliveries:
        # only an explicit discard may leave no copy, and it needs an empty detail
        assert "+@" in recipient or recipient.endswith("+")
