"""``include`` (RFC 6609): ``include``, ``return`` and ``global``.

An included script runs in its own variable scope, with the actions and the
implicit keep shared (§3.2); ``stop`` anywhere ends the whole run, ``return``
ends the current script (§3.4). Variables declared ``global`` (and the
``global.`` namespace, §3.5) are shared by every script that declares them.

Where scripts come from is the caller's: the interpreter's service
:data:`INCLUDES` (``services={INCLUDES: loader}``) maps ``(location, name)``
to script text (None: no such script); :func:`directory_loader` is the MDA's,
reading ``:personal`` scripts from the user's ManageSieve scripts and
``:global`` ones from ``<data_dir>/sieve/global/<name>.sieve``.

Bounds (RFC 6609 §3.2 asks for loop and depth limits): a script already on the
include stack is a loop (a runtime error), at most :data:`MAX_INCLUDE_DEPTH`
scripts deep and :data:`MAX_INCLUDES` includes per delivery.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveLimitError, SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.spec import STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter, Script
    from mailtool.mda.sieve.parser import Node

#: Pigeonhole's sieve_include_max_nesting_depth default
MAX_INCLUDE_DEPTH = 10
#: include commands executed per delivery (Pigeonhole allows 255 scripts; one run needs few)
MAX_INCLUDES = 64
#: a script name: no path separators, no leading dot, printable (RFC 6609 §3.2, RFC 5804 §1.6)
_NAME_RE = re.compile(r"^[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,254}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Loader = Callable[[str, str], "str | None"]
#: the interpreter's ``services`` key of the :data:`Loader`
INCLUDES = "includes"


@dataclass
class IncludeRun:
    """One delivery's includes: the stack (for loops and depth) and what already ran."""

    stack: list[tuple[str, str]] = field(default_factory=list)
    done: set[tuple[str, str]] = field(default_factory=set)
    count: int = 0


class ScriptReturn(Exception):
    """``return`` (RFC 6609 §3.4): caught where the current script was started."""


def _check_include(node: Node, extensions: set[str]) -> None:
    name = node.positional[0]
    if not _NAME_RE.match(name):
        raise SieveSyntaxError(f"include: {name!r} is not a script name", node.line, node.column)


def _include(interp: Interpreter, node: Node) -> None:
    location = node.tagged.get("location", "personal")
    name = node.positional[0]
    key = (location, name)
    run = interp.includes
    if node.tagged.get("once") and key in run.done:
        return  # RFC 6609 §3.2: :once, already included in this run
    if key in run.stack:
        raise SieveRuntimeError(f"include loop: {location} script {name!r} includes itself",
                                node.line, node.column)  # fmt: skip
    if len(run.stack) >= MAX_INCLUDE_DEPTH:
        raise SieveLimitError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}", node.line,
                              node.column)  # fmt: skip
    if run.count >= MAX_INCLUDES:
        raise SieveLimitError(f"more than {MAX_INCLUDES} includes", node.line, node.column)
    loader = interp.services.get(INCLUDES)
    source = loader(location, name) if loader is not None else None
    if source is None:
        if node.tagged.get("optional"):
            return  # RFC 6609 §3.2: :optional, a missing script is skipped
        raise SieveRuntimeError(f"include: no {location} script {name!r}", node.line,
                                node.column)  # fmt: skip
    script = _compiled(source, interp.limits, f"{location}:{name}")
    run.count += 1
    run.done.add(key)
    run.stack.append(key)
    try:
        interp.run_script(script)
    finally:
        run.stack.pop()


@functools.lru_cache(maxsize=128)
def _compiled(source: str, limits: object, name: str) -> Script:
    # imported here: the interpreter imports the validator, which imports this module
    from mailtool.mda.sieve.interpreter import parse

    return parse(source, limits=limits, name=name)  # type: ignore[arg-type]


def _return(interp: Interpreter, node: Node) -> None:
    raise ScriptReturn


def _global(interp: Interpreter, node: Node) -> None:
    interp.declare_global(node.positional[0])


def _check_global(node: Node, extensions: set[str]) -> None:
    if "variables" not in extensions:  # RFC 6609 §3.3
        raise SieveSyntaxError('global needs require "variables"', node.line, node.column)
    for name in node.positional[0]:
        if not _IDENTIFIER.match(name):
            raise SieveSyntaxError(f"global: {name!r} is not a variable name", node.line,
                                   node.column)  # fmt: skip


register(Spec("include", "command", positional=(STRING,), extension="include",
              tags={"personal": None, "global": None, "once": None, "optional": None},
              groups={"location": ("personal", "global")},
              run=_include, check=_check_include))  # fmt: skip
register(Spec("return", "command", extension="include", run=_return))
register(Spec("global", "command", positional=(STRINGS,), extension="include", run=_global,
              check=_check_global))  # fmt: skip


def store_loader(
    personal: Callable[[str], str | None], global_: Callable[[str], str | None]
) -> Loader:
    """The MDA's loader: ``personal(name)`` for :personal, ``global_(name)`` for :global
    (the script store's; names are checked here first: no path can leave a directory)."""

    def load(location: str, name: str) -> str | None:
        if not _NAME_RE.match(name):
            return None
        return personal(name) if location == "personal" else global_(name)

    return load


def directory_loader(personal: Callable[[str], str | None], global_dir: Path) -> Loader:
    """:func:`store_loader` with :global scripts read from ``global_dir/<name>.sieve``."""

    def read(name: str) -> str | None:
        try:
            return (global_dir / f"{name}.sieve").read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return store_loader(personal, read)
