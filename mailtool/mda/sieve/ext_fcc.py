"""fcc (RFC 8580): file a copy of what vacation (or notify) sends.

``:fcc "Sent"`` on ``vacation`` / ``notify``, with the optional ``:create``
(mailbox), ``:flags`` (imap4flags) and ``:specialuse`` (special-use) that only
make sense with it (§3). The copy is filed by the MDA when the reply is
actually sent (:func:`mailtool.mda.filtering.deliver_filtered`); a folder that
does not exist is created only with ``:create`` (§3.1: otherwise no copy, the
reply still goes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.ext_specialuse import check_flag
from mailtool.mda.sieve.spec import STRING, STRINGS

if TYPE_CHECKING:
    from mailtool.mda.sieve.parser import Node

#: tags :fcc brings to the commands that send something (RFC 8580 §3)
FCC_TAGS: dict[str, str | None] = {"fcc": STRING, "create": None, "flags": STRINGS,
                                   "specialuse": STRING}  # fmt: skip
FCC_TAG_EXTENSIONS = {"fcc": "fcc", "create": "mailbox", "flags": "imap4flags",
                      "specialuse": "special-use"}  # fmt: skip


@dataclass(frozen=True)
class Fcc:
    """Where the copy of a sent reply goes."""

    folder: str
    flags: frozenset[str] = frozenset()
    create: bool = False
    special_use: str | None = None


def check_fcc(node: Node, extensions: set[str]) -> None:
    """§3: :create, :flags and :specialuse only with :fcc; a special-use flag's syntax."""
    tagged = node.tagged
    if "fcc" not in tagged:
        for tag in ("create", "flags", "specialuse"):
            if tag in tagged:
                raise SieveSyntaxError(f"{node.name}: :{tag} needs :fcc", node.line, node.column)
    flag = tagged.get("specialuse")
    if flag is not None and "${" not in flag:
        check_flag(flag, node)
