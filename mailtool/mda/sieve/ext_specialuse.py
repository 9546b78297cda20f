"""special-use (RFC 8579): ``fileinto :specialuse`` and ``specialuse_exists``.

Which folder carries which RFC 6154 attribute is the store's business: the
MDA passes ``() -> {attribute (lower case): folder}`` as the interpreter's
service :data:`SPECIAL_USE_MAP`. Without one (``sieve test``, unit tests) the
defaults every new user gets are assumed (Sent, Drafts, Junk, Trash, Archive).
``fileinto :specialuse`` itself is resolved when the message is filed
(:func:`mailtool.mda.filtering.file_message`): the folder with the attribute
if there is one, else the named folder (§4).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.spec import STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: the interpreter's ``services`` key
SPECIAL_USE_MAP = "special_use_map"
#: RFC 6154 §2 use-attr = "\" atom; what a store that knows nothing else assumes
DEFAULT_MAP = {"\\sent": "Sent", "\\drafts": "Drafts", "\\junk": "Junk", "\\trash": "Trash",
               "\\archive": "Archive"}  # fmt: skip
_USE_ATTR = re.compile(r"^\\[A-Za-z0-9!#$&'+\-.^_`|~]+$")


def check_flag(flag: str, node: Node, error: type[Exception] = SieveSyntaxError) -> None:
    """RFC 8579 §3: a special-use flag is ``\\`` and an atom (RFC 6154 §6)."""
    if not _USE_ATTR.match(flag):
        raise error(f"{flag!r} is not a special-use attribute", node.line, node.column)


def special_uses(interp: Interpreter) -> dict[str, str]:
    lookup = interp.services.get(SPECIAL_USE_MAP)
    return dict(lookup()) if lookup is not None else dict(DEFAULT_MAP)


def _specialuse_exists(interp: Interpreter, node: Node) -> bool:
    mailbox, flags = node.positional
    flags = interp.expand_all(flags)
    for flag in flags:
        check_flag(flag, node, SieveRuntimeError)
    uses = special_uses(interp)
    if mailbox is None:
        # §5: true when each attribute is on some mailbox
        return all(f.lower() in uses for f in flags)
    name = interp.expand(mailbox)
    # §5: the mailbox exists and has every attribute
    return all(uses.get(f.lower()) == name for f in flags)


def _check(node: Node, extensions: set[str]) -> None:
    mailbox, flags = node.positional
    if mailbox is not None and isinstance(mailbox, list):
        if len(mailbox) != 1:
            raise SieveSyntaxError("specialuse_exists: one mailbox name", node.line, node.column)
        node.positional[0] = mailbox[0]
    for flag in flags:
        if "${" not in flag:
            check_flag(flag, node)


register(Spec("specialuse_exists", "test", positional=(STRINGS, STRINGS), optional_leading=1,
              extension="special-use", run=_specialuse_exists, check=_check))  # fmt: skip
