"""Run validated Sieve scripts against one envelope + message; collect the actions.

One :class:`Interpreter` per delivery. :meth:`Interpreter.execute` may be
called for several scripts in turn (the global script, then the user's): the
actions and the implicit keep carry over, variables do not, and a ``stop``
ends the whole run (Pigeonhole's ``sieve_before`` semantics). :meth:`finish`
resolves the implicit keep (RFC 5228 §2.10.2), removes duplicate deliveries
(§2.10.3 / §4.2) and turns a vacation request into a reply or nothing.

A runtime error raises :class:`SieveRuntimeError` after rolling back the
failing script's actions (:meth:`execute` is all-or-nothing per script).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mailtool.mda.sieve import vacation as vacation_mod
from mailtool.mda.sieve.actions import (
    Action,
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    Vacation,
    VacationRequest,
    flag_list,
)
from mailtool.mda.sieve.compiled import Block, compile_block
from mailtool.mda.sieve.compiled import Stop as _Stop
from mailtool.mda.sieve.errors import SieveLimitError, SieveRuntimeError
from mailtool.mda.sieve.ext_include import IncludeRun, ScriptReturn
from mailtool.mda.sieve.match import ascii_lower, compare, relational
from mailtool.mda.sieve.message import MessageView
from mailtool.mda.sieve.parser import MAX_NESTING, MAX_SCRIPT_BYTES, Node, parse_tree
from mailtool.mda.sieve.validate import validate


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope of the delivery: ``sender`` is ``""`` for the null path ``<>``."""

    sender: str
    recipient: str


@dataclass(frozen=True)
class Limits:
    """Bounded cost of one run (DESIGN principle 2)."""

    max_script_bytes: int = MAX_SCRIPT_BYTES
    max_nesting: int = MAX_NESTING
    max_actions: int = 64
    max_redirects: int = 4
    max_variables: int = 256
    max_variable_length: int = 4096  # RFC 5229 §3: values may be truncated
    max_expanded_length: int = 64 * 1024


@dataclass(frozen=True)
class Script:
    """A parsed and validated script; ``body`` is its tree compiled to closures (compiled.py),
    run in place of the tree walk (None: walk the tree)."""

    tree: list[Node]
    extensions: frozenset[str]
    source: str = ""
    body: Block | None = field(default=None, compare=False, repr=False)


def parse(source: str | bytes, *, limits: Limits | None = None, name: str = "") -> Script:
    """Parse and validate; :class:`SieveSyntaxError` names line and column."""
    limits = limits or Limits()
    tree = parse_tree(source, max_bytes=limits.max_script_bytes, max_nesting=limits.max_nesting)
    extensions = validate(tree)
    return Script(tree, frozenset(extensions), name, compile_block(tree))


_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|[0-9]+)\}")
#: RFC 6609 §3.5: the namespace of the global variables
GLOBAL_NAMESPACE = "global."


@dataclass
class _ScriptState:
    extensions: frozenset[str]
    variables: dict[str, str] = field(default_factory=dict)
    match_vars: list[str] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)  # RFC 6609 §3.3: declared global here


class Interpreter:
    """Executes scripts for one delivery; see the module docstring."""

    def __init__(
        self,
        envelope: Envelope,
        message: bytes,
        *,
        limits: Limits | None = None,
        user_addresses: Iterable[str] = (),
        vacation_memory: vacation_mod.VacationMemory | None = None,
        now: float | None = None,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        self.envelope = envelope
        self.message = MessageView(message)
        self.limits = limits or Limits()
        self.user_addresses = [a for a in user_addresses if a]
        self.vacation_memory = vacation_memory
        self.now = time.time() if now is None else now
        self.actions: list[Action] = []
        self.implicit_keep = True
        self.flags: list[str] = []  # RFC 5232 §3: the internal flags variable
        self.stopped = False
        self._state = _ScriptState(frozenset())
        #: per-delivery hooks extensions read (ext_* modules name their keys): the duplicate
        #: tracker, the notify limiter, mailbox lookups
        self.services: dict[str, Any] = dict(services or {})
        #: RFC 5293: editheader replaces ``message``; replies still quote the original
        self.original_message = self.message
        self.mime_stack: list[Any] = []  # RFC 5703 §3: the parts foreverypart is walking
        #: run by :meth:`finish` only (e.g. RFC 7352 §3: duplicate ids are recorded when the
        #: script succeeded); a failing script's hooks are undone with its actions
        self.on_success: list[Callable[[], None]] = []
        self.includes = IncludeRun()  # RFC 6609: the include stack and what ran
        self.global_variables: dict[str, str] = {}  # RFC 6609 §3.3

    # ---------------------------------------------------------------- running

    def execute(self, script: Script) -> None:
        """Run one script; a ``stop`` in it ends the run for any later script too."""
        if self.stopped:
            return
        saved = (list(self.actions), self.implicit_keep, list(self.flags), self.message,
                 len(self.on_success))  # fmt: skip
        try:
            self.run_script(script)
        except _Stop:
            self.stopped = True
        except SieveRuntimeError:
            self.actions, self.implicit_keep, self.flags, self.message, hooks = saved
            del self.on_success[hooks:]
            raise

    def run_script(self, script: Script) -> None:
        """Run ``script`` in its own variable scope to its end or its ``return`` (RFC 6609)."""
        saved = self._state
        self._state = _ScriptState(script.extensions)
        try:
            if script.body is not None:
                script.body(self)
            else:
                self.run_block(script.tree)
        except ScriptReturn:
            pass
        finally:
            self._state = saved

    def run_block(self, nodes: list[Node]) -> None:
        chain_done = False  # an if/elsif of this chain already ran its block
        for node in nodes:
            if node.name == "if":
                chain_done = self.test(node.tests[0])
                if chain_done:
                    self.run_block(node.block or [])
            elif node.name == "elsif":
                if not chain_done and self.test(node.tests[0]):
                    chain_done = True
                    self.run_block(node.block or [])
            elif node.name == "else":
                if not chain_done:
                    self.run_block(node.block or [])
            elif node.name == "stop":
                raise _Stop
            else:
                self._run(node)

    def test(self, node: Node) -> bool:
        return bool(self._run(node))

    def _run(self, node: Node) -> Any:
        try:
            return node.spec.run(self, node)
        except SieveRuntimeError as exc:
            if exc.line:
                raise
            # the innermost command or test that failed (a regex timeout, a bad :zone ...)
            raise type(exc)(exc.message, node.line, node.column) from None

    # ---------------------------------------------------------------- helpers for specs

    def has(self, extension: str) -> bool:
        return extension in self._state.extensions

    def expand(self, text: str) -> str:
        """RFC 5229 §3: ``${name}`` and ``${N}`` substitution, when variables is required."""
        if not self.has("variables") or "${" not in text:
            return text
        state = self._state
        limit = self.limits.max_expanded_length

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.isdigit():
                index = int(name)
                return state.match_vars[index] if index < len(state.match_vars) else ""
            if "." in name and not self._is_global_name(name.lower()):
                return m.group()  # RFC 5229 §3: an unknown namespace is left as written
            scope, key = self._scope(name)
            return scope.get(key, "")

        return _VAR_RE.sub(sub, text)[:limit]

    def expand_all(self, values: Iterable[str]) -> list[str]:
        if not self.has("variables"):
            return list(values)  # the common case, once per test: no ${} to look for
        return [self.expand(v) for v in values]

    def _is_global_name(self, key: str) -> bool:
        return key.startswith(GLOBAL_NAMESPACE) and self.has("include")

    def _scope(self, name: str) -> tuple[dict[str, str], str]:
        """The variables ``name`` lives in: this script's, or the global ones (RFC 6609 §3.3)."""
        key = name.lower()
        if self._is_global_name(key):
            return self.global_variables, key[len(GLOBAL_NAMESPACE) :]
        if key in self._state.globals:
            return self.global_variables, key
        return self._state.variables, key

    def declare_global(self, names: Iterable[str]) -> None:
        self._state.globals.update(n.lower() for n in names)

    def set_variable(self, name: str, value: str) -> None:
        variables, key = self._scope(name)
        if key not in variables and len(variables) >= self.limits.max_variables:
            raise SieveLimitError(f"more than {self.limits.max_variables} variables")
        variables[key] = value[: self.limits.max_variable_length]

    def get_variable(self, name: str) -> str:
        variables, key = self._scope(name)
        return variables.get(key, "")

    def match(self, node: Node, values: Iterable[str], keys: Iterable[str]) -> bool:
        """RFC 5228 §2.7.1: true if any value matches any key; :matches sets ${0}.."""
        match_type = node.tagged.get("match", "is")
        comparator = node.tagged.get("comparator", "i;ascii-casemap")
        if comparator == "i;ascii-casemap" and match_type in ("is", "contains"):
            # the common case inlined: editors' rules are mostly these (bench/bench_sieve.py)
            lowered = [ascii_lower(k) for k in keys]
            if match_type == "is":
                return any(ascii_lower(v) in lowered for v in values)
            return any(k in folded for v in values for folded in (ascii_lower(v),)
                       for k in lowered)  # fmt: skip
        keys = list(keys)
        relation = node.tagged.get(match_type, "") if match_type in ("count", "value") else ""
        if match_type == "count":  # RFC 5231 §4.1: the number of values, compared to each key
            count = str(len(list(values)))
            return any(relational(count, key, relation, comparator) for key in keys)
        for value in values:
            for key in keys:
                ok, captures = compare(value, key, match_type, comparator, relation)
                if ok:
                    if captures is not None and self.has("variables"):
                        # :regex gives ${0} itself (the matched text), :matches the value
                        regex = match_type == "regex"
                        self._state.match_vars = captures if regex else [value, *captures]
                    return True
        return False

    def add(self, action: Action, *, cancels_keep: bool) -> None:
        """Record an action, enforcing the limits and RFC 5429 §2.1 / RFC 5230 §4.7."""
        if len(self.actions) >= self.limits.max_actions:
            raise SieveLimitError(f"more than {self.limits.max_actions} actions")
        rejecting = any(isinstance(a, Reject) for a in self.actions)
        if isinstance(action, Reject):
            clash = [
                a
                for a in self.actions
                if isinstance(a, Reject | Keep | FileInto | Redirect | VacationRequest)
            ]
            if clash:
                raise SieveRuntimeError(
                    f"reject cannot be combined with {type(clash[0]).__name__.lower()}"
                )
        elif rejecting and isinstance(action, Keep | FileInto | Redirect | VacationRequest):
            raise SieveRuntimeError(f"{type(action).__name__.lower()} cannot follow reject")
        if isinstance(action, VacationRequest) and any(
            isinstance(a, VacationRequest) for a in self.actions
        ):
            raise SieveRuntimeError("vacation may be used only once (RFC 5230 §4.7)")
        if isinstance(action, Redirect):
            count = sum(isinstance(a, Redirect) for a in self.actions)
            if count >= self.limits.max_redirects:
                raise SieveLimitError(f"more than {self.limits.max_redirects} redirects")
        if self.message is not self.original_message and isinstance(
            action, Keep | FileInto | Redirect
        ):
            # RFC 5293 §2: the message as edited so far is what this action delivers
            action = replace(action, message=self.message.raw)
        self.actions.append(action)
        if cancels_keep:
            self.implicit_keep = False

    # ---------------------------------------------------------------- result

    def finish(self) -> list[Action]:
        """The final action list: implicit keep resolved, duplicates removed, vacation built."""
        out: list[Action] = []
        folders: dict[str, int] = {}  # mailbox -> index of its delivery in out
        redirects: set[str] = set()
        actions = list(self.actions)
        if self.implicit_keep:
            edited = self.message.raw if self.message is not self.original_message else None
            actions.append(Keep(frozenset(self.flags), implicit=True, message=edited))
        for action in actions:
            if isinstance(action, Keep | FileInto):
                # RFC 5228 §4.2: one delivery per mailbox however often it is named
                key = "INBOX" if action.folder.upper() == "INBOX" else action.folder
                if key in folders:
                    # the one delivery takes the flags of the last request, as Pigeonhole does
                    # (RFC 5232 leaves it open); found by tests/mda/sieve/test_pigeonhole.py
                    first = out[folders[key]]
                    assert isinstance(first, Keep | FileInto)
                    if action.flags != first.flags:
                        out[folders[key]] = replace(first, flags=action.flags)
                    continue
                folders[key] = len(out)
            elif isinstance(action, Redirect):
                if action.address.lower() in redirects:
                    continue
                redirects.add(action.address.lower())
            elif isinstance(action, VacationRequest):
                reply = self._vacation(action)
                if reply is not None:
                    out.append(reply)
                continue
            out.append(action)
        if not any(isinstance(a, Keep | FileInto | Redirect | Reject | Discard) for a in out):
            out.append(Discard())
        for hook in self.on_success:
            hook()
        return out

    def _vacation(self, request: VacationRequest) -> Vacation | None:
        return vacation_mod.respond(
            request,
            sender=self.envelope.sender,
            recipient=self.envelope.recipient,
            message=self.original_message,
            user_addresses=self.user_addresses,
            memory=self.vacation_memory,
            now=self.now,
        )


def run(
    script: Script | str | bytes,
    envelope: Envelope,
    message: bytes,
    **options: Any,
) -> list[Action]:
    """Convenience: parse if needed, run one script, return the final actions."""
    if not isinstance(script, Script):
        script = parse(script)
    interp = Interpreter(envelope, message, **options)
    interp.execute(script)
    return interp.finish()


__all__ = ["Envelope", "Interpreter", "Limits", "Script", "flag_list", "parse", "run"]
