"""A compiled script (mailtool/mda/sieve/compiled.py) does exactly what the tree walk does:
the same actions, flags, match variables (seen in fileinto targets) and runtime errors, on
generated scripts and messages that mix the specialised closures with the general code."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.mda.sieve import Envelope, Interpreter, SieveError, parse
from mailtool.mda.sieve.compiled import _untimed_length
from tests.mda.sieve.helpers import msg

NAMES = ["subject", "X-A", "from", "cc", "x-missing"]
WORDS = ["", "a", "B", "ab", "x@y.test", "Ab+c", "[z]", "é", "*a*", "?*"]
#: keys in Sieve source syntax: anchored, classes, groups, alternation, repetition
REGEXES = ["a", "^a", "b$", "[ab]c", "(a)(b)?", "a.*b", "x|A", "\\\\[z\\\\]", "^[[:alpha:]]+$"]
VALUES = st.text(alphabet="abAB @.+[]é", min_size=1, max_size=8)
FIELDS = st.lists(st.tuples(st.sampled_from(NAMES[:4]), VALUES), min_size=2, max_size=6)


def strings(options: list[str]) -> st.SearchStrategy[str]:
    pick = st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True)
    return pick.map(lambda items: "[" + ", ".join(f'"{i}"' for i in items) + "]")


MATCH = st.sampled_from([":is", ":contains", ":matches", ':comparator "i;octet" :is', ""])
LEAF = st.one_of(
    st.builds("header {} {} {}".format, MATCH, strings(NAMES), strings([*WORDS, "${1}"])),
    st.builds("header :regex {} {}".format, strings(NAMES), strings(REGEXES)),
    st.builds('header :count "{}" :comparator "i;ascii-numeric" {} "{}"'.format,
              st.sampled_from(["ge", "lt", "eq"]), strings(NAMES), st.integers(0, 2)),
    st.builds("address {} {} {} {}".format, st.sampled_from([":all", ":localpart", ":domain",
              ":user", ":detail"]), MATCH, strings(NAMES), strings(WORDS)),
    st.builds("exists {}".format, strings(NAMES)),
    st.builds("size {} {}".format, st.sampled_from([":over", ":under"]), st.integers(0, 200)),
    st.sampled_from(["true", "false"]),
)
TESTS = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.builds("not {}".format, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda t: "allof (" + ", ".join(t) + ")"),
        st.lists(inner, min_size=1, max_size=3).map(lambda t: "anyof (" + ", ".join(t) + ")"),
    ),
    max_leaves=4,
)
ACTIONS = st.sampled_from(['fileinto "F${0}-${1}";', 'addflag "f${1}";', "keep;", "discard;",
                           'redirect "r@example.test";', "stop;", 'set "v" "${0}";'])  # fmt: skip


@st.composite
def rules(draw: st.DrawFn) -> str:
    first = draw(st.one_of(st.just('fileinto "F${0}-${1}";'), ACTIONS))  # shows ${0} ${1}
    out = [f"if {draw(TESTS)} {{ {first} }}"]
    for _ in range(draw(st.integers(0, 2))):
        out.append(f"elsif {draw(TESTS)} {{ {draw(ACTIONS)} }}")
    if draw(st.booleans()):
        out.append(f"else {{ {draw(ACTIONS)} }}")
    return "\n".join(out)


HEADER = ('require ["fileinto", "imap4flags", "variables", "regex", "relational", '
          '"comparator-i;ascii-numeric", "subaddress"];\n')  # fmt: skip


def outcome(script, message: bytes) -> object:
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message)
    try:
        interp.execute(script)
    except SieveError as exc:
        return ("error", type(exc).__name__, exc.message, exc.line, exc.column)
    return interp.finish(), interp.flags  # match variables show in the fileinto targets


@settings(max_examples=150, deadline=None)
@given(body=st.lists(st.one_of(rules(), ACTIONS), min_size=1, max_size=5), fields=FIELDS)
def test_compiled_script_does_what_the_tree_walk_does(body, fields):
    script = parse(HEADER + "\n".join(body))
    assert script.body is not None
    message = msg(fields)
    assert outcome(script, message) == outcome(replace(script, body=None), message)


def timeout_error(source: str) -> tuple[int, int]:
    """(line, column) of the error a regex that cannot finish in time gives, the same
    compiled and walked."""
    script = parse('require ["regex"];\n' + source)
    message = msg({"Subject": "a" * 40 + "!"})
    compiled = outcome(script, message)
    assert compiled == outcome(replace(script, body=None), message)
    assert compiled[0] == "error"
    return compiled[3], compiled[4]


def test_a_runtime_error_names_the_same_test_either_way():
    where = timeout_error('if true { keep; }\nif header :regex "subject" "^(a|aa)+$" { stop; }')
    assert where == (3, 4)
    # the tree walk runs allof (X)'s X in the allof's frame: the error names the allof
    assert timeout_error('if allof (\n  header :regex "subject" "^(a|aa)+$") { stop; }') == (2, 4)


def test_only_searches_of_bounded_work_skip_the_timer():
    assert _untimed_length("^\\[proj-7\\]") > 1000  # fixed width: linear in the value
    for slow in ("(a|aa)+$", "a*b", "x|y", "(a)b", "a{2,}", "a?"):
        assert _untimed_length(slow) == -1, slow
