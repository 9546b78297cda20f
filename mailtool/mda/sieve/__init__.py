"""Sieve (RFC 5228) with fileinto, envelope, reject/ereject, imap4flags, vacation,
copy, variables, body and subaddress, for the MDA and ManageSieve.

Typical use::

    script = parse(text)                  # SieveSyntaxError names line and column
    interp = Interpreter(Envelope(sender, recipient), message_bytes,
                         user_addresses=[...], vacation_memory=memory)
    interp.execute(global_script)         # optional, runs first
    interp.execute(script)                # SieveRuntimeError: this script's actions undone
    actions = interp.finish()             # Keep / FileInto / Redirect / Discard / Reject / Vacation

:func:`check` is what ``mailtool sieve check`` and ManageSieve's PUTSCRIPT use.
"""

from __future__ import annotations

# extensions in their own modules register their commands and tests on import
from mailtool.mda.sieve import (  # noqa: F401
    ext_duplicate,
    ext_editheader,
    ext_enotify,
    ext_mime,
    ext_spamtest,
    ext_specialuse,
)
from mailtool.mda.sieve.actions import (
    Action,
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    Vacation,
    VacationRequest,
)
from mailtool.mda.sieve.errors import (
    SieveError,
    SieveLimitError,
    SieveRuntimeError,
    SieveSyntaxError,
)
from mailtool.mda.sieve.interpreter import Envelope, Interpreter, Limits, Script, parse, run
from mailtool.mda.sieve.spec import EXTENSIONS


def check(source: str | bytes, *, limits: Limits | None = None) -> None:
    """Raise :class:`SieveSyntaxError` (with line and column) if the script is not valid."""
    parse(source, limits=limits)


__all__ = [
    "EXTENSIONS", "Action", "Discard", "Envelope", "FileInto", "Interpreter", "Keep", "Limits",
    "Redirect", "Reject", "Script", "SieveError", "SieveLimitError", "SieveRuntimeError",
    "SieveSyntaxError", "Vacation", "VacationRequest", "check", "parse", "run",
]  # fmt: skip
