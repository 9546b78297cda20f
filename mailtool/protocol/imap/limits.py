"""Named size limits for every buffer of the IMAP protocol layer.

DESIGN.md principle 2: bad input gets the RFC's error and a bounded cost.  Each
parser and reader takes a :class:`Limits`; breaching one raises a
:class:`~mailtool.protocol.imap.errors.LimitExceeded` naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    #: bytes in one line, literals excluded (RFC 7162 §4 asks for at least 8192)
    max_line: int = 64 * 1024
    #: bytes in one literal (APPEND message size; RFC 7889 APPENDLIMIT)
    max_literal: int = 64 * 1024 * 1024
    #: bytes in all literals of a command that is not APPEND (LOGIN, SEARCH ...)
    max_small_literal: int = 64 * 1024
    #: number of literals in one command or response
    max_literals: int = 1000
    #: nesting depth of parenthesized lists and search keys
    max_depth: int = 64
    #: number of items in one list, sequence set, search program, FETCH response
    max_items: int = 100_000
    #: total bytes of one response (client side), literals included
    max_response: int = 256 * 1024 * 1024


DEFAULT_LIMITS = Limits()
