"""mime, foreverypart and extracttext (RFC 5703 §3, §4, §7).

* ``foreverypart [:name n] { ... }`` walks the MIME parts below the current
  one (the whole message outside any loop), depth first, embedded
  message/rfc822 parts included; ``break [:name n]`` leaves the innermost (or
  the named) loop. The interpreter's ``mime_stack`` holds the parts being walked.
* ``header`` / ``address`` / ``exists`` with ``:mime`` look at the current
  part's own header (§4.1), with ``:anychild`` at it and every part below it;
  ``:type`` / ``:subtype`` / ``:contenttype`` test the parts of Content-Type,
  ``:param`` the named parameters (RFC 2231-decoded) of any header with them.
* ``extracttext [modifiers] [:first n] "var"`` sets a variable to the current
  part's text (text/* parts only; HTML without its tags; else ``""``).

Bounded: at most :data:`MAX_PARTS` parts and :data:`MAX_DEPTH` levels are
walked; loops nest no deeper than the script's nesting limit.
"""

from __future__ import annotations

from dataclasses import replace
from email.message import Message
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from mailtool.mda.sieve import tests as base_tests
from mailtool.mda.sieve.commands import MODIFIER_EXTENSIONS, SET_MODIFIERS, apply_modifiers
from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.message import _TAG_RE, _decoded
from mailtool.mda.sieve.spec import NUMBER, STRING, STRINGS, TESTS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

MAX_PARTS = 1000
MAX_DEPTH = 32

#: RFC 5703 §4.1 tags added to header / address / exists
MIME_TAGS: dict[str, str | None] = {
    "mime": None,
    "anychild": None,
    "type": None,
    "subtype": None,
    "contenttype": None,
    "param": STRINGS,
}
MIME_OPTIONS = ("type", "subtype", "contenttype", "param")


class _Break(Exception):
    """``break`` (RFC 5703 §3.2); ``name`` None leaves the innermost loop."""

    def __init__(self, name: str | None) -> None:
        self.name = name


def current_part(interp: Interpreter) -> Message:
    return interp.mime_stack[-1] if interp.mime_stack else interp.message._mime


def descendants(part: Message) -> list[Message]:
    """Every part below ``part``, depth first, within :data:`MAX_PARTS` / :data:`MAX_DEPTH`."""
    out: list[Message] = []

    def visit(node: Message, depth: int) -> None:
        if depth >= MAX_DEPTH or not node.is_multipart():
            return
        for child in node.get_payload():
            if len(out) >= MAX_PARTS:
                return
            if isinstance(child, Message):
                out.append(child)
                visit(child, depth + 1)

    visit(part, 0)
    return out


def _scope(interp: Interpreter, node: Node) -> list[Message]:
    part = current_part(interp)
    return [part, *descendants(part)] if node.tagged.get("anychild") else [part]


# ---------------------------------------------------------------- foreverypart / break


def _foreverypart(interp: Interpreter, node: Node) -> None:
    name = node.tagged.get("name")
    for part in descendants(current_part(interp)):
        interp.mime_stack.append(part)
        try:
            interp.run_block(node.block or [])
        except _Break as exc:
            if exc.name is None or exc.name == name:
                return
            raise
        finally:
            interp.mime_stack.pop()


def _break(interp: Interpreter, node: Node) -> None:
    raise _Break(node.tagged.get("name"))


def _inner_nodes(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        out += _inner_nodes(node.block or [])
    return out


def _check_foreverypart(node: Node, extensions: set[str]) -> None:
    # mark what this loop encloses, for break's and extracttext's own checks (bound later)
    name = node.tagged.get("name")
    for inner in _inner_nodes(node.block or []):
        loops = inner.__dict__.setdefault("enclosing_loops", [])
        loops.append(name)


def _check_break(node: Node, extensions: set[str]) -> None:
    loops = node.__dict__.get("enclosing_loops", [])
    if not loops:
        raise SieveSyntaxError("break must be inside foreverypart", node.line, node.column)
    name = node.tagged.get("name")
    if name is not None and name not in loops:
        # RFC 5703 §3.2: a named break must name an enclosing loop
        raise SieveSyntaxError(f'break: no enclosing foreverypart is named "{name}"',
                               node.line, node.column)  # fmt: skip


register(Spec("foreverypart", "command", tags={"name": STRING}, extension="foreverypart",
              block=True, run=_foreverypart, check=_check_foreverypart))  # fmt: skip
register(Spec("break", "command", tags={"name": STRING}, extension="foreverypart",
              run=_break, check=_check_break))  # fmt: skip


# ---------------------------------------------------------------- :mime on header, address, exists


def _params(part: Message, header: str, names: list[str]) -> list[str]:
    out: list[str] = []
    header_value = part.get(header)
    params = getattr(header_value, "params", None) or {}
    wanted = {n.lower() for n in names}
    for key, value in params.items():
        if key.lower() in wanted:
            out.append(str(value))
    return out


def _mime_values(part: Message, header: str, tagged: dict[str, Any]) -> list[str]:
    option = tagged.get("mimeopt")
    if option == "param":
        return _params(part, header, tagged["param"])
    if option in ("type", "subtype", "contenttype"):
        if header.lower() != "content-type":
            return []  # §4.2: these apply to Content-Type only
        ctype = part.get_content_type()  # RFC 2045 §5.2 default when absent
        return [{"type": ctype.partition("/")[0], "subtype": ctype.partition("/")[2],
                 "contenttype": ctype}[option]]  # fmt: skip
    return [" ".join(str(v).split()) for v in part.get_all(header, [])]


def _mime_header(interp: Interpreter, node: Node) -> bool:
    names, keys = node.positional
    values = [v for part in _scope(interp, node) for n in interp.expand_all(names)
              for v in _mime_values(part, n, node.tagged)]  # fmt: skip
    return interp.match(node, values, interp.expand_all(keys))


def _mime_address(interp: Interpreter, node: Node) -> bool:
    names, keys = node.positional
    raw = [str(v) for part in _scope(interp, node) for n in interp.expand_all(names)
           for v in part.get_all(n, [])]  # fmt: skip
    addresses = [a for _name, a in getaddresses(raw) if a]
    return interp.match(node, base_tests._parts(interp, node, addresses),
                        interp.expand_all(keys))  # fmt: skip


def _mime_exists(interp: Interpreter, node: Node) -> bool:
    names = interp.expand_all(node.positional[0])
    return any(all(part.get(n) is not None for n in names) for part in _scope(interp, node))


def _check_mime(previous: Any, plain: Spec, mime: Spec) -> Any:
    def check(node: Node, extensions: set[str]) -> None:
        if "mime" not in node.tagged and any(t in node.tagged for t in ("anychild", "mimeopt")):
            raise SieveSyntaxError(f"{node.name}: :anychild, :type, :subtype, :contenttype and "
                                   ":param need :mime", node.line, node.column)  # fmt: skip
        if node.tagged.get("mimeopt") and node.name != "header":
            raise SieveSyntaxError(f"{node.name}: :{node.tagged['mimeopt']} is for header only",
                                   node.line, node.column)  # fmt: skip
        # the node runs the plain test or the :mime one, chosen once here, not per delivery;
        # the plain test's own check may pick a faster form of it
        node.spec = mime if node.tagged.get("mime") else plain
        if previous is not None:
            previous(node, extensions)

    return check


def _with_mime(name: str, mime_run: Any) -> None:
    """Give ``header`` / ``address`` / ``exists`` the RFC 5703 tags; plain runs unchanged."""
    plain = TESTS[name]
    mime = replace(plain, run=mime_run)
    register(replace(
        plain, tags={**plain.tags, **MIME_TAGS}, groups={**plain.groups, "mimeopt": MIME_OPTIONS},
        tag_extensions={**plain.tag_extensions, **dict.fromkeys(MIME_TAGS, "mime")},
        check=_check_mime(plain.check, plain, mime),
    ))  # fmt: skip


_with_mime("header", _mime_header)
_with_mime("address", _mime_address)
_with_mime("exists", _mime_exists)


# ---------------------------------------------------------------- extracttext (RFC 5703 §7)


def _extracttext(interp: Interpreter, node: Node) -> None:
    part = current_part(interp)
    text = ""
    if part.get_content_maintype() == "text" and not part.is_multipart():
        text = _decoded(part)
        if part.get_content_type() == "text/html":
            text = _TAG_RE.sub(" ", text)
    first = node.tagged.get("first")
    if first is not None:
        text = text[:first]
    interp.set_variable(node.positional[0], apply_modifiers(text, node.tagged, "initial"))


def _check_extracttext(node: Node, extensions: set[str]) -> None:
    if "variables" not in extensions or "foreverypart" not in extensions:
        # RFC 5703 §7: extracttext is used with both
        raise SieveSyntaxError('extracttext needs require "variables" and "foreverypart"',
                               node.line, node.column)  # fmt: skip
    if not node.__dict__.get("enclosing_loops"):
        raise SieveSyntaxError("extracttext must be inside foreverypart", node.line, node.column)


register(Spec("extracttext", "command", positional=(STRING,), extension="extracttext",
              tags={**{m: None for m in SET_MODIFIERS}, "first": NUMBER},
              groups={"case": ("lower", "upper"), "initial": ("lowerfirst", "upperfirst")},
              tag_extensions=MODIFIER_EXTENSIONS, run=_extracttext,
              check=_check_extracttext))  # fmt: skip
