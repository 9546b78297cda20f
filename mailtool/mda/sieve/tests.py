"""Sieve tests: RFC 5228 §5 (address, allof, anyof, envelope, exists, false, header,
not, size, true), body (RFC 5173), string (RFC 5229 §5), hasflag (RFC 5232 §4).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mailtool.mda.sieve.actions import flag_list
from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.ext_index import INDEX_EXTENSIONS, INDEX_TAGS, check_index, pick
from mailtool.mda.sieve.match import ascii_lower
from mailtool.mda.sieve.message import address_part
from mailtool.mda.sieve.spec import (
    ADDRESS_PARTS,
    BODY_TRANSFORMS,
    COMPARE_GROUPS,
    COMPARE_TAGS,
    NUMBER,
    STRINGS,
    TESTS,
    Spec,
    register,
)

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

ADDRESS_TAGS = {**COMPARE_TAGS, **{p: None for p in ADDRESS_PARTS}}
ADDRESS_GROUPS = {**COMPARE_GROUPS, "part": ADDRESS_PARTS}
SUBADDRESS = {"user": "subaddress", "detail": "subaddress"}
ENVELOPE_PARTS = ("from", "to")


def _parts(interp: Interpreter, node: Node, addresses: list[str]) -> list[str]:
    part = node.tagged.get("part", "all")
    out = [address_part(a, part) for a in addresses]
    return [p for p in out if p is not None]


def _address(interp: Interpreter, node: Node) -> bool:
    names, keys = node.positional
    fields = [(n, pick(node, interp.message.raw_headers(n))) for n in interp.expand_all(names)]
    # RFC 5260 §6: with :index, only that occurrence of each field is looked at
    addresses = [a for _n, raw in fields for a in interp.message.addresses_in(raw)]
    return interp.match(node, _parts(interp, node, addresses), interp.expand_all(keys))


def _envelope(interp: Interpreter, node: Node) -> bool:
    names, keys = node.positional
    env = interp.envelope
    addresses: list[str] = []
    for name in interp.expand_all(names):
        # RFC 5228 §5.4: the null reverse-path is the empty string
        addresses.append(env.sender if name.lower() == "from" else env.recipient)
    return interp.match(node, _parts(interp, node, addresses), interp.expand_all(keys))


def _check_envelope(node: Node, extensions: set[str]) -> None:
    for name in node.positional[0]:
        if "${" not in name and name.lower() not in ENVELOPE_PARTS:
            raise SieveSyntaxError(f'envelope part "{name}" is not "from" or "to"',
                                   node.line, node.column)  # fmt: skip


def _header(interp: Interpreter, node: Node) -> bool:
    names, keys = node.positional
    values = [v for n in interp.expand_all(names) for v in pick(node, interp.message.headers(n))]
    return interp.match(node, values, interp.expand_all(keys))


# ---------------------------------------------------------------- fast forms, chosen at check time
# header / address with constant names and keys, :is or :contains, i;ascii-casemap, no
# :index: the rules editors write most (Roundcube: one per filter). The keys are folded
# once when the script is checked, not at every delivery (bench/bench_sieve.py).


def _folded_match(values: list[str], keys: list[str], contains: bool) -> bool:
    for value in values:
        folded = ascii_lower(value)
        if contains:
            if any(key in folded for key in keys):
                return True
        elif folded in keys:
            return True
    return False


def _header_fast(interp: Interpreter, node: Node) -> bool:
    names, keys, contains, _part = node.__dict__["fast"]
    headers = interp.message.headers
    for name in names:  # noqa: SIM110 - a loop, not any(genexpr): one frame less per rule
        if _folded_match(headers(name), keys, contains):
            return True
    return False


def _address_fast(interp: Interpreter, node: Node) -> bool:
    names, keys, contains, part = node.__dict__["fast"]
    message = interp.message
    for name in names:
        found = [address_part(a, part) for a in message.addresses(name)]
        if _folded_match([p for p in found if p is not None], keys, contains):
            return True
    return False


def _fast_form(node: Node, extensions: set[str]) -> bool:
    """Can ``node`` use the fast form? If so its precomputed data is stored on it."""
    tagged = node.tagged
    names, keys = node.positional
    if (
        tagged.get("match", "is") not in ("is", "contains")
        or tagged.get("comparator", "i;ascii-casemap") != "i;ascii-casemap"
        or any(t in tagged for t in ("index", "mime"))
        or ("variables" in extensions and any("${" in v for v in [*names, *keys]))
    ):
        return False
    contains = tagged.get("match") == "contains"
    folded = [ascii_lower(k) for k in keys]
    node.__dict__["fast"] = (list(names), folded, contains, tagged.get("part", "all"))
    return True


def _check_header(node: Node, extensions: set[str]) -> None:
    check_index(node, extensions)
    if _fast_form(node, extensions):
        node.spec = HEADER_FAST


def _check_address(node: Node, extensions: set[str]) -> None:
    check_index(node, extensions)
    if _fast_form(node, extensions):
        node.spec = ADDRESS_FAST


def _exists(interp: Interpreter, node: Node) -> bool:
    return all(interp.message.has_header(n) for n in interp.expand_all(node.positional[0]))


def _size(interp: Interpreter, node: Node) -> bool:
    limit = node.positional[0]
    if node.tagged["size"] == "over":
        return interp.message.size > limit
    return interp.message.size < limit


def _body(interp: Interpreter, node: Node) -> bool:
    transform = node.tagged.get("transform", "text")
    if transform == "raw":
        texts = [interp.message.raw_body]
    elif transform == "content":
        texts = interp.message.body_parts(interp.expand_all(node.tagged["content"]))
    else:
        texts = interp.message.body_parts(None)
    return interp.match(node, texts, interp.expand_all(node.positional[0]))


def _string(interp: Interpreter, node: Node) -> bool:
    sources, keys = node.positional
    return interp.match(node, interp.expand_all(sources), interp.expand_all(keys))


def _hasflag(interp: Interpreter, node: Node) -> bool:
    variables, keys = node.positional
    flags = flag_list([interp.get_variable(v) for v in variables]) if variables else interp.flags
    return interp.match(node, flags, flag_list(interp.expand_all(keys)))


register(Spec("address", "test", positional=(STRINGS, STRINGS), tags={**ADDRESS_TAGS, **INDEX_TAGS},
              groups=ADDRESS_GROUPS, tag_extensions={**SUBADDRESS, **INDEX_EXTENSIONS},
              run=_address, check=_check_address))  # fmt: skip
ADDRESS_FAST = replace(TESTS["address"], run=_address_fast)
register(Spec("envelope", "test", positional=(STRINGS, STRINGS), tags=ADDRESS_TAGS,
              groups=ADDRESS_GROUPS, tag_extensions=SUBADDRESS, extension="envelope",
              run=_envelope, check=_check_envelope))  # fmt: skip
register(Spec("header", "test", positional=(STRINGS, STRINGS), tags={**COMPARE_TAGS, **INDEX_TAGS},
              groups=COMPARE_GROUPS, tag_extensions=INDEX_EXTENSIONS, run=_header,
              check=_check_header))  # fmt: skip
HEADER_FAST = replace(TESTS["header"], run=_header_fast)
register(Spec("exists", "test", positional=(STRINGS,), run=_exists))
register(
    Spec(
        "size",
        "test",
        positional=(NUMBER,),
        tags={"over": None, "under": None},
        groups={"size": ("over", "under")},
        required_groups=("size",),
        run=_size,
    )
)
register(Spec("body", "test", positional=(STRINGS,),
              tags={**COMPARE_TAGS, "raw": None, "content": STRINGS, "text": None},
              groups={**COMPARE_GROUPS, "transform": BODY_TRANSFORMS}, extension="body",
              run=_body))  # fmt: skip
register(Spec("string", "test", positional=(STRINGS, STRINGS), tags=COMPARE_TAGS,
              groups=COMPARE_GROUPS, extension="variables", run=_string))  # fmt: skip
register(Spec("hasflag", "test", positional=(STRINGS, STRINGS), optional_leading=1,
              tags=COMPARE_TAGS, groups=COMPARE_GROUPS, extension="imap4flags",
              run=_hasflag))  # fmt: skip
register(
    Spec(
        "allof",
        "test",
        tests="list",
        run=lambda interp, node: all(interp.test(t) for t in node.tests),
        # allof (X), as Roundcube writes every single-test rule: X itself
        check=lambda node, extensions: _single(node),
    )
)
register(
    Spec(
        "anyof",
        "test",
        tests="list",
        run=lambda interp, node: any(interp.test(t) for t in node.tests),
        check=lambda node, extensions: _single(node),
    )
)


def _single(node: Node) -> None:
    if len(node.tests) == 1:
        node.spec = SINGLE


def _single_run(interp: Interpreter, node: Node) -> bool:
    # the one test runs in this node's frame: a runtime error names this (same) line
    test = node.tests[0]
    return bool(test.spec.run(interp, test))


SINGLE = Spec("allof", "test", tests="list", run=_single_run)
register(Spec("not", "test", tests="one", run=lambda interp, node: not interp.test(node.tests[0])))
register(Spec("true", "test", run=lambda interp, node: True))
register(Spec("false", "test", run=lambda interp, node: False))
