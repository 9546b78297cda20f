"""editheader (RFC 5293): ``addheader`` and ``deleteheader``.

The edits are made on the message bytes: the interpreter's ``message`` is
replaced by a view of the edited bytes, so later tests see the change (§2),
and keep / fileinto / redirect carry the message as it was when they ran
(:meth:`Interpreter.add`). Vacation, reject and notify answer the original
(:attr:`Interpreter.original_message`).

Protected fields (§6): ``Received`` and ``Auto-Submitted`` can be neither
added nor deleted, as in Pigeonhole; the attempt is silently ignored, as the
RFC requires. ``Subject`` may always be edited. Bounded cost: a value of at
most :data:`MAX_VALUE_BYTES`, at most :data:`MAX_EDITS` edits per delivery.
"""

from __future__ import annotations

import re
from email.header import Header
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveLimitError, SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.message import MessageView, decode_value
from mailtool.mda.sieve.spec import (
    COMPARE_TAGS,
    MATCH_TYPES,
    NUMBER,
    STRING,
    STRINGS,
    Spec,
    register,
)

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: RFC 5293 §6 / Pigeonhole: never added nor deleted (trace and loop-prevention fields)
PROTECTED = frozenset({"received", "auto-submitted"})
#: Pigeonhole's sieve_editheader_max_header_size default
MAX_VALUE_BYTES = 2048
#: edits per delivery (each rewrites the header block)
MAX_EDITS = 64

#: RFC 5322 §3.6.8: field-name = 1*ftext (printable US-ASCII except ":")
_FIELD_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")


def split_header(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header fields with their folded lines and line ends, the rest from the blank
    line on, the line end the message uses)."""
    eol = b"\r\n" if b"\r\n" in raw[:4096] or not raw else b"\n"
    end = raw.find(eol + eol)
    if raw.startswith(eol):
        head, rest = b"", raw
    elif end < 0:
        head, rest = raw, b""
    else:
        head, rest = raw[: end + len(eol)], raw[end + len(eol) :]
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields, rest, eol


def field_name(field: bytes) -> str:
    return field.partition(b":")[0].strip().decode("ascii", "replace").lower()


def _field_value(field: bytes) -> str:
    return decode_value(field.partition(b":")[2].decode("utf-8", "replace").rstrip("\r\n"))


def _encoded_field(name: str, value: str, eol: bytes) -> bytes:
    """RFC 5293 §4: a non-ASCII value is RFC 2047-encoded; long values are folded."""
    value = " ".join(value.splitlines())
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep=eol.decode())
    return f"{name}: {encoded}".encode() + eol


def _check_name(name: str, node: Node, error: type[Exception]) -> None:
    if not _FIELD_NAME.match(name):
        raise error(f"{node.name}: {name!r} is not a header field name", node.line, node.column)


def _count_edit(interp: Interpreter) -> None:
    edits = interp.services.get("editheader.count", 0) + 1
    if edits > MAX_EDITS:
        raise SieveLimitError(f"more than {MAX_EDITS} header edits")
    interp.services["editheader.count"] = edits


def _addheader(interp: Interpreter, node: Node) -> None:
    name, value = interp.expand(node.positional[0]), interp.expand(node.positional[1])
    _check_name(name, node, SieveRuntimeError)
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise SieveLimitError(f"addheader: the value is over {MAX_VALUE_BYTES} bytes",
                              node.line, node.column)  # fmt: skip
    if name.lower() in PROTECTED:
        return  # §6: a change that is not permitted is silently ignored
    _count_edit(interp)
    fields, rest, eol = split_header(interp.message.raw)
    new = _encoded_field(name, value, eol)
    if node.tagged.get("last"):
        fields.append(new)
    else:
        fields.insert(0, new)  # §4: by default at the beginning of the header
    interp.message = MessageView(b"".join(fields) + rest)


def _deleteheader(interp: Interpreter, node: Node) -> None:
    name = interp.expand(node.positional[0])
    _check_name(name, node, SieveRuntimeError)
    wanted = name.lower()
    if wanted in PROTECTED:
        return  # §6: silently ignored
    patterns = interp.expand_all(node.positional[1] or [])
    fields, rest, _eol = split_header(interp.message.raw)
    positions = [i for i, f in enumerate(fields) if field_name(f) == wanted]
    index = node.tagged.get("index")
    if index is not None:
        # §5: :index counts occurrences from 1, from the end with :last
        ordered = positions[::-1] if node.tagged.get("last") else positions
        positions = [ordered[index - 1]] if 0 < index <= len(ordered) else []
    doomed = set()
    saved = list(interp._state.match_vars)  # §5: deleteheader does not set match variables
    for i in positions:
        if not patterns or interp.match(node, [_field_value(fields[i])], patterns):
            doomed.add(i)
    interp._state.match_vars = saved
    if doomed:
        _count_edit(interp)
        kept = [f for i, f in enumerate(fields) if i not in doomed]
        interp.message = MessageView(b"".join(kept) + rest)


def _check_addheader(node: Node, extensions: set[str]) -> None:
    name, value = node.positional
    if "${" not in name:
        _check_name(name, node, SieveSyntaxError)
    if "${" not in value and len(value.encode()) > MAX_VALUE_BYTES:
        raise SieveSyntaxError(f"addheader: the value is over {MAX_VALUE_BYTES} bytes",
                               node.line, node.column)  # fmt: skip


def _check_deleteheader(node: Node, extensions: set[str]) -> None:
    if node.tagged.get("last") and "index" not in node.tagged:
        raise SieveSyntaxError("deleteheader: :last needs :index", node.line, node.column)
    if node.tagged.get("index", 1) < 1:
        raise SieveSyntaxError("deleteheader: :index counts from 1", node.line, node.column)
    first, second = node.positional
    if first is None:  # only the field name was given
        first, second = second, None
    if len(first) != 1:
        raise SieveSyntaxError("deleteheader: the field name must be one string",
                               node.line, node.column)  # fmt: skip
    node.positional = [first[0], second]
    if "${" not in first[0]:
        _check_name(first[0], node, SieveSyntaxError)


register(Spec("addheader", "command", positional=(STRING, STRING), tags={"last": None},
              extension="editheader", run=_addheader, check=_check_addheader))  # fmt: skip
#: RFC 5293 §5: MATCH-TYPE per field; :count (RFC 5231) counts fields, it has no meaning here
_DELETE_MATCH = tuple(t for t in MATCH_TYPES if t != "count")
_MATCH_EXTENSIONS = {"regex": "regex", "value": "relational"}
# the grammar's optional argument is the trailing value list: bound as an optional
# leading one, then put right by _check_deleteheader
register(Spec("deleteheader", "command", positional=(STRINGS, STRINGS), optional_leading=1,
              tags={**{k: v for k, v in COMPARE_TAGS.items() if k != "count"}, "index": NUMBER,
                    "last": None},
              groups={"match": _DELETE_MATCH}, extension="editheader",
              tag_extensions=_MATCH_EXTENSIONS, run=_deleteheader,
              check=_check_deleteheader))  # fmt: skip
