"""A validated script turned into closures once, when it is parsed (issue 18 point 4).

The tree walk of :meth:`Interpreter.run_block` costs, per rule and per delivery,
a name dispatch, three calls to reach the test and a tag lookup in it; a
200-rule script paid that 200 times a message. Here each if/elsif/else chain
becomes one closure holding its compiled tests and blocks, and the tests editors
write most (``header`` / ``address`` :is / :contains, ``exists``, ``size``,
``header :count``, allof / anyof / not of them) become closures over what
validation already fixed (names, folded keys, the relation). Everything else
runs its Spec exactly as the tree walk does, so behaviour is the same by
construction; tests/mda/sieve/test_fast_compiled.py checks the specialised
closures against the general code.

A runtime error is named by the innermost command or test that failed, as in
:meth:`Interpreter._run` (RFC 5228 §2.10.6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailtool.mda.sieve import ext_regex
from mailtool.mda.sieve import tests as sieve_tests
from mailtool.mda.sieve.errors import SieveRuntimeError
from mailtool.mda.sieve.match import RELATIONS, _order_key
from mailtool.mda.sieve.spec import TESTS

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

Block = Callable[["Interpreter"], None]
Test = Callable[["Interpreter"], bool]


class Stop(Exception):
    """``stop`` (RFC 5228 §3.3)."""


def compile_block(nodes: list[Node]) -> Block:
    """The commands of a block as one closure; ``interp.run_block(nodes)`` by other means."""
    steps: list[Block] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if node.name == "if":
            chain: list[tuple[Test | None, Block]] = [
                (compile_test(node.tests[0]), compile_block(node.block or []))
            ]
            i += 1
            while i < len(nodes) and nodes[i].name in ("elsif", "else"):
                branch = nodes[i]
                test = compile_test(branch.tests[0]) if branch.name == "elsif" else None
                chain.append((test, compile_block(branch.block or [])))
                i += 1
                if branch.name == "else":
                    break
            steps.append(_chain(chain))
            continue
        if node.name in ("elsif", "else"):
            # not after an if (validation refuses it): leave the whole block to the tree walk
            return lambda interp: interp.run_block(nodes)
        steps.append(_stop if node.name == "stop" else _command(node))
        i += 1
    if len(steps) == 1:
        return steps[0]
    return lambda interp: _run_steps(steps, interp)


def _run_steps(steps: list[Block], interp: Interpreter) -> None:
    for step in steps:
        step(interp)


def _stop(interp: Interpreter) -> None:
    raise Stop


def _command(node: Node) -> Block:
    return lambda interp: interp._run(node)


def _chain(chain: list[tuple[Test | None, Block]]) -> Block:
    """RFC 5228 §3.1: the first branch whose test is true (or the else) runs, and no other."""
    if len(chain) == 1:
        (test, block), = chain  # fmt: skip
        assert test is not None

        def if_only(interp: Interpreter) -> None:
            if test(interp):
                block(interp)

        return if_only

    def if_chain(interp: Interpreter) -> None:
        for test, block in chain:
            if test is None or test(interp):
                block(interp)
                return

    return if_chain


# ---------------------------------------------------------------- tests


def compile_test(node: Node) -> Test:
    """A closure answering ``interp.test(node)``."""
    fast = _fast_test(node, node)
    return fast if fast is not None else _spec_test(node)


def _spec_test(node: Node) -> Test:
    """The node's own Spec, with the error naming as :meth:`Interpreter._run` does it."""
    run = node.spec.run
    return _named(node, lambda interp: bool(run(interp, node)))


def _fast_test(node: Node, owner: Node) -> Test | None:
    """A specialised closure for ``node``, or None; a runtime error in it names ``owner``
    (the node whose frame runs it in the tree walk: itself, or the allof of one test)."""
    run = node.spec.run
    if run is sieve_tests._header_fast:
        return _folded_test(*node.__dict__["fast"][:3], None)
    if run is sieve_tests._address_fast:
        return _folded_test(*node.__dict__["fast"])
    if run is sieve_tests._single_run:
        # allof (X) as Roundcube writes it: X itself, an error in it naming this node
        return _fast_test(node.tests[0], owner)
    if node.spec is TESTS.get(node.name) and node.name in ("allof", "anyof", "not"):
        parts = [compile_test(t) for t in node.tests]  # each names its own errors
        if node.name == "not":
            part = parts[0]
            return lambda interp: not part(interp)
        if node.name == "allof" and len(parts) == 2:
            first, second = parts  # allof (exists ..., size ...): no generator per delivery
            return lambda interp: first(interp) and second(interp)
        if node.name == "allof":
            return lambda interp: all(p(interp) for p in parts)
        return lambda interp: any(p(interp) for p in parts)
    if run is sieve_tests._size:
        limit = node.positional[0]
        if node.tagged["size"] == "over":
            return lambda interp: interp.message.size > limit
        return lambda interp: interp.message.size < limit
    if node.name in ("true", "false") and node.spec is TESTS[node.name]:
        value = node.name == "true"
        return lambda interp: value
    # a string with "${" may expand (RFC 5229 §3): such tests keep the general code
    constant = not any("${" in s for p in node.positional if isinstance(p, list) for s in p)
    if run is sieve_tests._exists and constant:
        names = list(node.positional[0])
        if len(names) == 1:
            field = names[0].lower()  # has_header without its call: the field index itself
            return lambda interp: field in interp.message._index
        return lambda interp: all(interp.message.has_header(n) for n in names)
    if run is sieve_tests._header and constant and _plain(node):
        if node.tagged.get("match") == "count":
            return _header_count(node)
        if node.tagged.get("match") == "regex":
            regex_test = _header_regex(node)
            return None if regex_test is None else _named(owner, regex_test)
    return None


def _folded_test(names: list[str], keys: list[str], contains: bool, part: str | None) -> Test:
    """``header`` (``part`` None) or ``address`` :is / :contains under i;ascii-casemap: the
    values folded once per message, the keys at compile time (what tests._header_fast and
    tests._address_fast do, without a call per value)."""
    if contains and len(names) == 1 and len(keys) == 1:
        (name,), (key,) = names, keys  # the Roundcube rule: one field, one word
        cached = (name.lower(), part)  # MessageView._folded's key: no call once it is there

        def contains_one(interp: Interpreter) -> bool:
            message = interp.message
            values = message._folded.get(cached)
            if values is None:
                values = message.folded(name, part)
            for value in values:  # noqa: SIM110 - a loop: no generator frame per rule
                if key in value:
                    return True
            return False

        return contains_one
    if contains:

        def contains_any(interp: Interpreter) -> bool:
            folded = interp.message.folded
            return any(k in v for n in names for v in folded(n, part) for k in keys)

        return contains_any

    wanted = frozenset(keys)
    if len(names) == 1:
        (name,) = names
        cached = (name.lower(), part)

        def equals_one(interp: Interpreter) -> bool:
            message = interp.message
            values = message._folded.get(cached)
            if values is None:
                values = message.folded(name, part)
            return not wanted.isdisjoint(values)

        return equals_one

    def equals_any(interp: Interpreter) -> bool:
        folded = interp.message.folded
        return any(not wanted.isdisjoint(folded(n, part)) for n in names)

    return equals_any


#: a search whose work is bounded by len(value) x len(pattern) (see _linear) runs without the
#: regex module's timer (which costs ~4 µs a search, ten times the search) up to this product:
#: ~1 ms of matching at worst, far under ext_regex.MATCH_TIMEOUT
UNTIMED_WORK = 100_000
#: what makes backtracking more than linear per start position: repetition, alternation,
#: back-references; and groups, whose bookkeeping costs ~100x a character at each start
#: (anything else in a translated pattern matches a fixed number of characters)
_NONLINEAR = re.compile(r"[*+?{|(]|\\[0-9gGkK]")


def _untimed_length(key: str) -> int:
    """The longest value ``key`` may search without the timer; -1: always timed."""
    translated = ext_regex.translate(key)
    if _NONLINEAR.search(translated):
        return -1
    return UNTIMED_WORK // max(len(translated), 1)


def _header_regex(node: Node) -> Test | None:
    """``header :regex`` with constant keys (draft-ietf-sieve-regex §3), as
    :meth:`Interpreter.match` runs it: the first value x key that matches sets the
    match variables (RFC 5229 §3.2); a search that may be slow keeps ext_regex's timeout."""
    names, keys = node.positional
    comparator = node.tagged.get("comparator", "i;ascii-casemap")
    fold = comparator == "i;ascii-casemap"
    try:
        patterns = [(k, ext_regex.compiled(k, fold), _untimed_length(k)) for k in keys]
    except ext_regex.RegexError:
        return None  # validation refused it already; the general code says so
    search = ext_regex.search
    fields = [(n, n.lower()) for n in names]

    def regex_test(interp: Interpreter) -> bool:
        message = interp.message
        decoded = message._decoded  # MessageView's cache of headers(): no copy per rule
        for name, field in fields:
            values = decoded.get(field)
            for value in message.headers(name) if values is None else values:
                for key, pattern, untimed in patterns:
                    if len(value) <= untimed:
                        m = pattern.search(value)
                        found = None if m is None else [g or "" for g in (m.group(0), *m.groups())]
                    else:
                        found = search(key, value, fold)  # SieveRuntimeError on timeout
                    if found is not None:
                        if interp.has("variables"):
                            interp._state.match_vars = found
                        return True
        return False

    return regex_test


def _named(node: Node, test: Test) -> Test:
    """``test`` with a runtime error naming ``node`` (as :meth:`Interpreter._run` does)."""

    def named(interp: Interpreter) -> bool:
        try:
            return test(interp)
        except SieveRuntimeError as exc:
            if exc.line:
                raise
            raise type(exc)(exc.message, node.line, node.column) from None

    return named


def _plain(node: Node) -> bool:
    """``header`` without :index (RFC 5260 §6) or :mime (RFC 5703 §4)."""
    return not any(t in node.tagged for t in ("index", "mime"))


def _header_count(node: Node) -> Test:
    """RFC 5231 §4.1: the number of values compared to each key, keys ordered once."""
    names, keys = node.positional
    comparator = node.tagged.get("comparator", "i;ascii-casemap")
    relation = RELATIONS[node.tagged["count"].lower()]
    ordered = [_order_key(k, comparator) for k in keys]
    numeric = comparator == "i;ascii-numeric"  # _order_key of a count: (0, n), else its digits

    fields = [n.lower() for n in names]

    def count(interp: Interpreter) -> bool:
        index = interp.message._index
        number = 0
        for field in fields:
            number += len(index.get(field, ()))
        order = (0, number) if numeric else str(number)
        for key in ordered:  # noqa: SIM110 - a loop: no generator frame per rule
            if relation(order, key):
                return True
        return False

    return count
