"""``mailbox`` (RFC 5490 §3): ``mailboxexists`` (``fileinto :create`` is in actions).

Which mailboxes exist is the delivery's business: the MDA passes a
``(name) -> bool`` as the interpreter's service :data:`MAILBOX_EXISTS`.
Without one (``mailtool sieve test``, the unit tests) only INBOX exists, the
one mailbox every user has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailtool.mda.sieve.spec import STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node


#: the interpreter's ``services`` key of the lookup
MAILBOX_EXISTS = "mailbox_exists"


def mailbox_exists(interp: Interpreter, name: str) -> bool:
    lookup = interp.services.get(MAILBOX_EXISTS)
    if lookup is not None:
        return bool(lookup(name))
    return name.upper() == "INBOX"


def _mailboxexists(interp: Interpreter, node: Node) -> bool:
    # RFC 5490 §3.1: true only if every named mailbox exists
    return all(mailbox_exists(interp, n) for n in interp.expand_all(node.positional[0]))


register(Spec("mailboxexists", "test", positional=(STRINGS,), extension="mailbox",
              run=_mailboxexists))  # fmt: skip
