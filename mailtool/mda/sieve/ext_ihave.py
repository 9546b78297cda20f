"""``ihave`` (RFC 5463): the ``ihave`` test and the ``error`` command.

The validator (:func:`mailtool.mda.sieve.validate._ihave_guard`) lets the
block of ``if ihave [..]`` use the named extensions without ``require``, and
does not check a block guarded by a capability we lack (§4): such a block can
never run, because the test is false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveRuntimeError
from mailtool.mda.sieve.spec import EXTENSIONS, STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node


def _ihave(interp: Interpreter, node: Node) -> bool:
    # RFC 5463 §4: true when every capability is one we implement (names are not expanded)
    return all(name in EXTENSIONS for name in node.positional[0])


def _error(interp: Interpreter, node: Node) -> None:
    # RFC 5463 §5: the script ends in error: its actions are undone, the implicit keep stands
    message = interp.expand(node.positional[0])
    raise SieveRuntimeError(f"error command: {message}", node.line, node.column)


register(Spec("ihave", "test", positional=(STRINGS,), extension="ihave", run=_ihave))
register(Spec("error", "command", positional=(STRING,), extension="ihave", run=_error))
