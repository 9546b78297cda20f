"""Control commands (RFC 5228 §3) and ``set`` (RFC 5229 §4).

``if`` / ``elsif`` / ``else`` and ``stop`` are walked by the interpreter
itself; their specs here give the validator their shape.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.spec import STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

register(Spec("require", "command", positional=(STRINGS,), run=lambda interp, node: None))
for _name in ("if", "elsif"):
    register(Spec(_name, "command", tests="one", block=True))
register(Spec("else", "command", block=True))
register(Spec("stop", "command"))

# RFC 5229 §4 an identifier; RFC 6609 §3.5 also "global.<identifier>"
_IDENTIFIER = re.compile(r"^(?:global\.)?[A-Za-z_][A-Za-z0-9_]*$", re.IGNORECASE)

#: RFC 5229 §4.1: modifiers, applied highest precedence first
SET_MODIFIERS = ("lower", "upper", "lowerfirst", "upperfirst", "quotewildcard", "encodeurl",
                 "length")  # fmt: skip
#: RFC 5435 §6: :encodeurl comes with enotify
MODIFIER_EXTENSIONS = {"encodeurl": "enotify"}


def apply_modifiers(value: str, tagged: dict, first_group: str = "first") -> str:
    """RFC 5229 §4.1 modifiers of ``set`` (and of RFC 5703 §7 ``extracttext``)."""
    case = tagged.get("case")
    if case == "lower":
        value = value.lower()
    elif case == "upper":
        value = value.upper()
    first = tagged.get(first_group)
    if first and value:
        head = value[0].lower() if first == "lowerfirst" else value[0].upper()
        value = head + value[1:]
    if tagged.get("quotewildcard"):
        value = re.sub(r"([*?\\])", r"\\\1", value)
    if tagged.get("encodeurl"):
        # RFC 5435 §6 (precedence 15): percent-encode all but RFC 3986 unreserved characters
        value = quote(value, safe="-._~")
    if tagged.get("length"):
        value = str(len(value))
    return value


def _set(interp: Interpreter, node: Node) -> None:
    name, value = node.positional
    interp.set_variable(name, apply_modifiers(interp.expand(value), node.tagged))


def _check_set(node: Node, extensions: set[str]) -> None:
    name = node.positional[0]
    if not _IDENTIFIER.match(name):
        # RFC 5229 §4: the name must be an identifier (match variables are read-only)
        raise SieveSyntaxError(f"set: {name!r} is not a variable name", node.line, node.column)
    if name.lower().startswith("global.") and "include" not in extensions:
        # RFC 6609 §3.5: the "global" namespace comes with include
        raise SieveSyntaxError(f'set: {name!r} needs require "include"', node.line, node.column)


register(Spec(
    "set", "command", positional=(STRING, STRING), extension="variables",
    tags={m: None for m in SET_MODIFIERS}, tag_extensions=MODIFIER_EXTENSIONS,
    groups={"case": ("lower", "upper"), "first": ("lowerfirst", "upperfirst")},
    run=_set, check=_check_set,
))  # fmt: skip
