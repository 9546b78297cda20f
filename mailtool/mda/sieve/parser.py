"""Sieve grammar (RFC 5228 §8.2) -> a tree of :class:`Node` with line and column.

The parser only knows the grammar: which commands, tests and tags exist is
checked afterwards by :mod:`mailtool.mda.sieve.validate`, which also binds
each node's tagged and positional arguments.

Bounded cost: the script text, its nesting depth and the length of any string
list are limited; a breach is a :class:`SieveSyntaxError` naming the place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailtool.mda.sieve.errors import SieveSyntaxError
from mailtool.mda.sieve.lexer import EOF, IDENT, NUMBER, PUNCT, STRING, TAG, Token, tokenize

#: default bounds, overridable per call
MAX_SCRIPT_BYTES = 256 * 1024
MAX_NESTING = 32
MAX_LIST_ITEMS = 1024


@dataclass
class Tag:
    name: str  # lower case, without the colon
    line: int
    column: int


@dataclass
class Number:
    value: int
    line: int
    column: int


@dataclass
class StringList:
    values: list[str]
    is_list: bool  # written as [..] (a single "x" is not a list where a string is wanted)
    line: int
    column: int
    is_multiline: bool = False


Argument = Tag | Number | StringList


@dataclass
class Node:
    """A command (with an optional block) or a test; ``tests`` are its test / test-list."""

    name: str
    args: list[Argument]
    tests: list[Node]
    line: int
    column: int
    block: list[Node] | None = None
    test_list: bool = False  # tests came in parentheses
    # filled by validation: tag -> value (True for a flag tag), and the positional values
    tagged: dict[str, Any] = field(default_factory=dict)
    positional: list[Any] = field(default_factory=list)
    spec: Any = None


class Parser:
    def __init__(self, tokens: list[Token], max_nesting: int = MAX_NESTING) -> None:
        self.tokens = tokens
        self.i = 0
        self.max_nesting = max_nesting

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != EOF:
            self.i += 1
        return token

    def error(self, message: str, token: Token | None = None) -> SieveSyntaxError:
        token = token or self.tok
        return SieveSyntaxError(message, token.line, token.column)

    def is_punct(self, ch: str) -> bool:
        return self.tok.kind == PUNCT and self.tok.value == ch

    def expect(self, ch: str, what: str) -> Token:
        if not self.is_punct(ch):
            raise self.error(f"expected {what}, found {describe(self.tok)}")
        return self.take()

    def commands(self, depth: int, closing: str | None) -> list[Node]:
        out: list[Node] = []
        while True:
            if closing is not None and self.is_punct(closing):
                return out
            if self.tok.kind == EOF:
                if closing is not None:
                    raise self.error("missing '}' at the end of a block")
                return out
            out.append(self.command(depth))

    def command(self, depth: int) -> Node:
        token = self.tok
        if token.kind != IDENT:
            raise self.error(f"expected a command, found {describe(token)}")
        self.take()
        node = Node(str(token.value), [], [], token.line, token.column)
        self.arguments(node, depth)
        if self.is_punct(";"):
            self.take()
            return node
        if self.is_punct("{"):
            if depth + 1 > self.max_nesting:
                raise self.error(f"blocks nested deeper than {self.max_nesting}")
            self.take()
            node.block = self.commands(depth + 1, "}")
            self.take()
            return node
        raise self.error(f"expected ';' or '{{' after {node.name}, found {describe(self.tok)}")

    def arguments(self, node: Node, depth: int) -> None:
        while True:
            token = self.tok
            if token.kind == TAG:
                self.take()
                node.args.append(Tag(str(token.value), token.line, token.column))
            elif token.kind == NUMBER:
                self.take()
                node.args.append(Number(int(token.value), token.line, token.column))
            elif token.kind == STRING:
                self.take()
                node.args.append(
                    StringList([str(token.value)], False, token.line, token.column,
                               token.is_multiline)
                )  # fmt: skip
            elif self.is_punct("["):
                node.args.append(self.string_list())
            else:
                break
        if self.tok.kind == IDENT:
            node.tests = [self.test(depth + 1)]
        elif self.is_punct("("):
            node.tests = self.test_list(depth + 1)
            node.test_list = True

    def string_list(self) -> StringList:
        start = self.take()
        values: list[str] = []
        while True:
            token = self.tok
            if token.kind != STRING:
                raise self.error(f"expected a string in the list, found {describe(token)}")
            self.take()
            values.append(str(token.value))
            if len(values) > MAX_LIST_ITEMS:
                raise self.error(f"string list longer than {MAX_LIST_ITEMS} items", token)
            if self.is_punct(","):
                self.take()
                continue
            self.expect("]", "',' or ']' in a string list")
            return StringList(values, True, start.line, start.column)

    def test(self, depth: int) -> Node:
        if depth > self.max_nesting:
            raise self.error(f"tests nested deeper than {self.max_nesting}")
        token = self.tok
        if token.kind != IDENT:
            raise self.error(f"expected a test, found {describe(token)}")
        self.take()
        node = Node(str(token.value), [], [], token.line, token.column)
        self.arguments(node, depth)
        return node

    def test_list(self, depth: int) -> list[Node]:
        self.take()
        tests = [self.test(depth)]
        while self.is_punct(","):
            self.take()
            tests.append(self.test(depth))
        self.expect(")", "',' or ')' in a test list")
        return tests


def describe(token: Token) -> str:
    if token.kind == EOF:
        return "the end of the script"
    if token.kind == STRING:
        return "a string"
    if token.kind == TAG:
        return f"tag :{token.value}"
    return f"{token.kind} {token.value!r}"


def parse_tree(
    source: str | bytes, *, max_bytes: int = MAX_SCRIPT_BYTES, max_nesting: int = MAX_NESTING
) -> list[Node]:
    """The command list of a script (no validation); UTF-8 is required (RFC 5228 §2.4.2)."""
    raw = source.encode("utf-8", "surrogateescape") if isinstance(source, str) else source
    if len(raw) > max_bytes:
        raise SieveSyntaxError(f"script is larger than {max_bytes} bytes", 1, 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SieveSyntaxError("script is not valid UTF-8", line, column) from None
    parser = Parser(tokenize(text), max_nesting)
    return parser.commands(0, None)
