"""``environment`` (RFC 5183): what the script can learn about where it runs.

The MDA passes what it knows of the delivery (``domain``, ``host``,
``remote-host``, ``remote-ip``) as the interpreter's service
:data:`ENVIRONMENT` (a mapping); :data:`DEFAULTS` fill in the rest. An item nobody set is not
defined, and the test on it is false (RFC 5183 §4).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mailtool import __version__
from mailtool.mda.sieve.spec import COMPARE_GROUPS, COMPARE_TAGS, STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: RFC 5183 §4.1: items with a fixed value here; "location" MDA and "phase" during, since
#: scripts run at final delivery
DEFAULTS = {"location": "MDA", "name": "mailtool", "phase": "during", "version": __version__}
#: the interpreter's ``services`` key of the delivery's items
ENVIRONMENT = "environment"
#: the items RFC 5183 §4.1 defines
ITEMS = ("domain", "host", "location", "name", "phase", "remote-host", "remote-ip", "version")


#: the Received field our MTA writes first (mta/received.py): from HELO ([ip]) by host
_OUR_RECEIVED = re.compile(
    rb"^Received: from \S+ \(\[(?:IPv6:)?([0-9A-Fa-f.:]+)\]\)\s+by ([A-Za-z0-9.-]+)", re.M
)


def delivery_items(message: bytes, recipient: str) -> dict[str, str]:
    """RFC 5183 §4.1 items the MDA knows: ``domain`` (the recipient's), and ``host`` and
    ``remote-ip`` from the topmost Received field, the one our MTA added on receipt
    (``remote-host`` stays undefined: that field carries the unverified HELO name only)."""
    items = {"domain": recipient.rpartition("@")[2].lower()} if "@" in recipient else {}
    end = message.find(b"\r\n\r\n")
    m = _OUR_RECEIVED.search(message, 0, end if end >= 0 else len(message))
    first = message.find(b"Received:")  # only the topmost one is ours, never a later one
    if m is not None and m.start() == first and (first == 0 or message[first - 1] == 10):
        items["remote-ip"] = m.group(1).decode("ascii")
        items["host"] = m.group(2).decode("ascii")
    return items


def item(interp: Interpreter, name: str) -> str | None:
    """The value of environment item ``name`` (case-insensitive), None when not defined."""
    key = name.lower()
    given = {k.lower(): v for k, v in interp.services.get(ENVIRONMENT, {}).items()}
    value = given.get(key)
    return value if value is not None else DEFAULTS.get(key)


def _environment(interp: Interpreter, node: Node) -> bool:
    name, keys = node.positional
    value = item(interp, interp.expand(name))
    if value is None:
        return False
    return interp.match(node, [value], interp.expand_all(keys))


register(Spec("environment", "test", positional=(STRING, STRINGS), tags=COMPARE_TAGS,
              groups=COMPARE_GROUPS, extension="environment", run=_environment))  # fmt: skip
