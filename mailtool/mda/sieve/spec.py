"""Signatures of Sieve commands and tests, and the registry the validator reads.

A :class:`Spec` says what a command or test accepts (RFC 5228 §2.6-§2.7:
tagged arguments first, then positional ones; a test, a test list or none; a
block or none) and which ``require`` extension it needs. :mod:`commands`,
:mod:`actions` and :mod:`tests` each register their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: argument kinds
STRING, STRINGS, NUMBER = "string", "string-list", "number"

#: extensions we implement (RFC 5228 §3.2 require); comparator-* per RFC 4790
EXTENSIONS = frozenset({
    "fileinto", "envelope", "reject", "ereject", "imap4flags", "vacation", "copy",
    "variables", "body", "subaddress",
    "editheader", "spamtest", "spamtestplus", "virustest", "duplicate", "mime", "foreverypart",
    "extracttext", "special-use", "fcc", "enotify",
    "encoded-character", "mailbox", "relational", "regex", "include", "date", "index",
    "environment", "ihave",
    "comparator-i;octet", "comparator-i;ascii-casemap", "comparator-i;ascii-numeric",
})  # fmt: skip

#: comparators usable without require (RFC 5228 §2.7.3)
DEFAULT_COMPARATORS = frozenset({"i;octet", "i;ascii-casemap"})
COMPARATORS = DEFAULT_COMPARATORS | {"i;ascii-numeric"}

MATCH_TYPES = ("is", "contains", "matches", "regex", "count", "value")
#: match types an extension brings (regex: draft-ietf-sieve-regex; count/value: RFC 5231)
MATCH_TYPE_EXTENSIONS = {"regex": "regex", "count": "relational", "value": "relational"}
ADDRESS_PARTS = ("all", "localpart", "domain", "user", "detail")
BODY_TRANSFORMS = ("raw", "content", "text")

#: tags shared by the tests that compare strings
COMPARE_TAGS: dict[str, str | None] = {
    "comparator": STRING, **{t: None for t in MATCH_TYPES}, "count": STRING, "value": STRING,
}  # fmt: skip
COMPARE_GROUPS: dict[str, tuple[str, ...]] = {"match": MATCH_TYPES}


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # "command" or "test"
    positional: tuple[str, ...] = ()
    optional_leading: int = 0  # leading positional arguments that may be left out
    tags: Mapping[str, str | None] = field(default_factory=dict)  # tag -> kind, None = flag
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # exclusive tags
    required_groups: tuple[str, ...] = ()
    extension: str | None = None
    tag_extensions: Mapping[str, str] = field(default_factory=dict)
    tests: str = "none"  # "none", "one" or "list"
    block: bool = False
    run: Callable[..., Any] | None = None  # (interpreter, node) -> None / bool
    check: Callable[..., None] | None = None  # extra validation: (node, extensions) -> None


COMMANDS: dict[str, Spec] = {}
TESTS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    (COMMANDS if spec.kind == "command" else TESTS)[spec.name] = spec
    return spec
