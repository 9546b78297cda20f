"""Check a parsed script against the command and test signatures, and bind arguments.

After :func:`validate`, every :class:`~mailtool.mda.sieve.parser.Node` has
``spec``, ``tagged`` (tag or group name -> value) and ``positional`` filled, so
the interpreter never re-checks shapes. Every error names line and column
(RFC 5228 §2.10.6: these are errors before any action is taken).
"""

from __future__ import annotations

from mailtool.mda.sieve import (  # noqa: F401 - fill the registry
    actions,
    commands,
    ext_date,
    ext_environment,
    ext_ihave,
    ext_include,
    ext_mailbox,
    ext_regex,
    tests,
)
from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.ext_encoded import decode_tree
from mailtool.mda.sieve.match import RELATIONS
from mailtool.mda.sieve.parser import Node, Number, StringList, Tag
from mailtool.mda.sieve.spec import (
    COMMANDS,
    COMPARATORS,
    DEFAULT_COMPARATORS,
    EXTENSIONS,
    MATCH_TYPE_EXTENSIONS,
    NUMBER,
    STRING,
    TESTS,
    Spec,
)


def _err(message: str, where: Node | Tag | Number | StringList) -> SieveSyntaxError:
    return SieveSyntaxError(message, where.line, where.column)


def validate(tree: list[Node]) -> set[str]:
    """Check ``tree`` in place; returns the extensions it requires."""
    extensions: set[str] = set()
    seen_other = False
    for node in tree:
        if node.name == "require":
            if seen_other:
                # RFC 5228 §3.2: require MUST come before any other command
                raise _err("require must come before any other command", node)
            _bind(node, COMMANDS["require"], extensions)
            for name in node.positional[0]:
                if name not in EXTENSIONS:
                    raise _err(f'unsupported extension "{name}"', node)
                extensions.add(name)
        else:
            seen_other = True
    if "encoded-character" in extensions:  # RFC 5228 §2.4.2.4, before anything reads a string
        decode_tree(tree)
    granted: set[str] = set()
    _block(tree, extensions, granted)
    # the extensions ihave granted inside its blocks are live at run time (expansion, flags)
    return extensions | granted


def _block(nodes: list[Node], extensions: set[str], granted: set[str]) -> None:
    previous: str | None = None
    for node in nodes:
        spec = COMMANDS.get(node.name)
        if spec is None:
            what = "a test, not a command" if node.name in TESTS else "an unknown command"
            raise _err(f"'{node.name}' is {what}", node)
        if node.name in ("elsif", "else") and previous not in ("if", "elsif"):
            raise _err(f"'{node.name}' must follow 'if' or 'elsif'", node)
        if node.name == "require" and previous not in (None, "require"):
            raise _err("require must come before any other command", node)
        _bind(node, spec, extensions)
        for test in node.tests:
            _test(test, extensions)
        if node.block is not None:
            guard = _ihave_guard(node)
            if guard is not None:  # RFC 5463 §4: an unknown capability's block is not checked
                granted |= guard
                _block(node.block, extensions | guard, granted)
        previous = node.name


def _test(node: Node, extensions: set[str]) -> None:
    spec = TESTS.get(node.name)
    if spec is None:
        what = "a command, not a test" if node.name in COMMANDS else "an unknown test"
        raise _err(f"'{node.name}' is {what}", node)
    _bind(node, spec, extensions)
    for test in node.tests:
        _test(test, extensions)


def _ihave_guard(node: Node) -> set[str] | None:
    """RFC 5463 §4: ``if ihave [..] {block}``: the block may use those extensions
    (an empty set when there is no such guard); None when one of them is unknown."""
    if node.name not in ("if", "elsif") or not node.tests or node.tests[0].name != "ihave":
        return set()
    names = set(node.tests[0].positional[0])
    return names if names <= EXTENSIONS else None


def _needs(ext: str, what: str, where: Node | Tag, extensions: set[str]) -> None:
    if ext not in extensions:
        raise _err(f'{what} needs require "{ext}"', where)


def _bind(node: Node, spec: Spec, extensions: set[str]) -> None:
    node.spec = spec
    if spec.extension:
        _needs(spec.extension, f"'{node.name}'", node, extensions)
    args = list(node.args)
    i = 0
    group_of = {tag: g for g, tags in spec.groups.items() for tag in tags}
    while i < len(args) and isinstance(args[i], Tag):
        tag = args[i]
        assert isinstance(tag, Tag)
        if tag.name not in spec.tags:
            raise _err(f"'{node.name}' has no tag :{tag.name}", tag)
        key = group_of.get(tag.name, tag.name)
        needed = spec.tag_extensions.get(tag.name)
        if needed is None and key == "match":
            needed = MATCH_TYPE_EXTENSIONS.get(tag.name)
        if needed is not None:
            _needs(needed, f":{tag.name}", tag, extensions)
        if key in node.tagged or tag.name in node.tagged:
            raise _err(f":{tag.name} conflicts with an earlier tag of '{node.name}'", tag)
        if key != tag.name:
            node.tagged[key] = tag.name
        kind = spec.tags[tag.name]
        if kind is None:
            node.tagged.setdefault(tag.name, True)
        else:
            if i + 1 >= len(args):
                raise _err(f":{tag.name} needs a {kind} after it", tag)
            node.tagged[tag.name] = _value(args[i + 1], kind, f":{tag.name}")
            i += 1
        i += 1
    rest = args[i:]
    for arg in rest:
        if isinstance(arg, Tag):
            raise _err(f"tag :{arg.name} must come before the positional arguments", arg)
    wanted = spec.positional
    if not len(wanted) - spec.optional_leading <= len(rest) <= len(wanted):
        count = len(wanted) if not spec.optional_leading else f"{len(wanted) - 1}-{len(wanted)}"
        raise _err(f"'{node.name}' takes {count} positional argument(s), got {len(rest)}", node)
    kinds = wanted[len(wanted) - len(rest) :]
    node.positional = [_value(a, k, f"'{node.name}'") for a, k in zip(rest, kinds, strict=True)]
    if len(rest) < len(wanted):
        node.positional = [None] * (len(wanted) - len(rest)) + node.positional
    for group in spec.required_groups:
        if group not in node.tagged:
            tags = " or ".join(f":{t}" for t in spec.groups[group])
            raise _err(f"'{node.name}' needs {tags}", node)
    _shape(node, spec)
    comparator = node.tagged.get("comparator")
    if comparator is not None:
        if comparator not in COMPARATORS:
            raise _err(f'unknown comparator "{comparator}"', node)
        if comparator not in DEFAULT_COMPARATORS:
            _needs(f"comparator-{comparator}", f'comparator "{comparator}"', node, extensions)
    _check_match_type(node, extensions)
    if spec.check is not None:
        spec.check(node, extensions)


def _check_match_type(node: Node, extensions: set[str]) -> None:
    """RFC 5231 §4 (a known relation) and draft-ietf-sieve-regex §3 (a valid pattern)."""
    match_type = node.tagged.get("match")
    if match_type in ("count", "value"):
        relation = node.tagged[match_type]
        if relation.lower() not in RELATIONS:
            raise _err(f':{match_type} "{relation}" is not one of gt ge lt le eq ne', node)
    elif match_type == "regex":
        comparator = node.tagged.get("comparator", "i;ascii-casemap")
        keys = node.positional[-1] if node.positional else []
        ext_regex.check_keys(node, keys or [], comparator, "variables" in extensions)


def _shape(node: Node, spec: Spec) -> None:
    if spec.tests == "none" and node.tests:
        raise _err(f"'{node.name}' takes no test", node.tests[0])
    if spec.tests == "one" and (len(node.tests) != 1 or node.test_list):
        raise _err(f"'{node.name}' needs exactly one test", node)
    if spec.tests == "list" and not node.test_list:
        raise _err(f"'{node.name}' needs a test list in parentheses", node)
    if spec.block and node.block is None:
        raise _err(f"'{node.name}' needs a block {{ ... }}", node)
    if not spec.block and node.block is not None:
        raise _err(f"'{node.name}' takes no block; end it with ';'", node)


def _value(arg: Tag | Number | StringList, kind: str, what: str) -> object:
    if kind == NUMBER:
        if not isinstance(arg, Number):
            raise _err(f"{what} needs a number", arg)
        return arg.value
    if not isinstance(arg, StringList):
        raise _err(f"{what} needs a {kind}", arg)
    if kind == STRING:
        if arg.is_list:
            raise _err(f"{what} needs a single string, not a list", arg)
        return arg.values[0]
    return list(arg.values)
