"""The fast forms of header and address (chosen when a script is checked) answer exactly
as the general code does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mda.sieve import Envelope, Interpreter, parse
from mailtool.mda.sieve import tests as sieve_tests
from tests.mda.sieve.helpers import msg

WORDS = st.text(alphabet="abcABC xyzÄä@.+-", min_size=0, max_size=12)


def both(test: str, message: bytes) -> tuple[bool, bool]:
    script = parse(f'require ["subaddress"]; if {test} {{ discard; }}')
    node = script.tree[1].tests[0]
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message)
    general = sieve_tests._header if node.name == "header" else sieve_tests._address
    return bool(node.spec.run(interp, node)), bool(general(interp, node))


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def test_the_fast_forms_are_chosen_only_where_they_apply():
    def spec_run(test: str):
        return parse(f'require ["relational", "variables"]; if {test} {{ stop; }}').tree[1].tests[0]

    assert spec_run('header :contains "subject" "x"').spec.run is sieve_tests._header_fast
    assert spec_run('address :domain "from" "x"').spec.run is sieve_tests._address_fast
    for slow in ('header :matches "subject" "x*"', 'header :contains "subject" "${x}"',
                 'header :comparator "i;octet" "subject" "x"',
                 'header :count "ge" "subject" "1"'):  # fmt: skip
        assert spec_run(slow).spec.run is not sieve_tests._header_fast, slow


@settings(max_examples=60, deadline=None)
@given(values=st.lists(WORDS, max_size=3), keys=st.lists(WORDS, min_size=1, max_size=3),
       contains=st.booleans())  # fmt: skip
def test_header_fast_form_agrees(values, keys, contains):
    message = msg([("Subject", v) for v in values])
    match = ":contains" if contains else ":is"
    key_list = ", ".join(f'"{quoted(k)}"' for k in keys)
    fast, general = both(f'header {match} "subject" [{key_list}]', message)
    assert fast == general


@settings(max_examples=60, deadline=None)
@given(local=st.text(alphabet="abAB+", min_size=1, max_size=6), key=WORDS,
       part=st.sampled_from([":all", ":localpart", ":domain", ":user", ":detail"]),
       contains=st.booleans())  # fmt: skip
def test_address_fast_form_agrees(local, key, part, contains):
    message = msg({"From": f"Someone <{local}@Example.ORG>", "Cc": "x@y.test, z@w.test"})
    match = ":contains" if contains else ":is"
    fast, general = both(f'address {part} {match} ["from", "cc"] "{quoted(key)}"', message)
    assert fast == general
