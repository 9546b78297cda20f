"""What can go wrong with a Sieve script, with the place in the script that caused it.

A syntax or validation error (RFC 5228 §2.10.6 "compile-time") names the line
and column, so ``mailtool sieve check`` and ManageSieve's PUTSCRIPT can point
at it. A runtime error (an action the RFC forbids in combination, a limit
reached) cancels the script's actions: the caller falls back to the implicit
keep, so mail is never lost.
"""

from __future__ import annotations

from mailtool.errors import MailtoolError


class SieveError(MailtoolError):
    """Base of the Sieve errors; ``line`` and ``column`` are 1-based (0 when unknown)."""

    exit_code = 1

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(where + message)


class SieveSyntaxError(SieveError):
    """The script cannot be parsed or uses a command, test, tag or extension wrongly."""


class SieveRuntimeError(SieveError):
    """The script failed while running (RFC 5228 §2.10.6): its actions are cancelled."""


class SieveLimitError(SieveRuntimeError):
    """A bounded-cost limit was reached (actions, redirects, variables, size)."""
