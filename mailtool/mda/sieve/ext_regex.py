"""The ``:regex`` match type (draft-ietf-sieve-regex-01), bounded.

Keys are POSIX extended regular expressions (the draft's §3, what Pigeonhole
hands to regcomp(3)). They run on the third-party ``regex`` module, for three
reasons Python's ``re`` cannot meet:

* a **time limit**: ``regex`` takes ``timeout=`` per search, so a pattern that
  backtracks catastrophically (``(x+x+)+y``) is stopped after
  :data:`MATCH_TIMEOUT` seconds instead of owning the delivery worker. A
  static "no nested quantifiers" filter would refuse valid scripts and still
  miss alternation blow-ups (``(a|aa)+$``); a worker process with a deadline
  costs a fork per message. A timeout is a :class:`SieveRuntimeError`: the
  script's actions are undone and the implicit keep files the message
  (RFC 5228 §2.10.6), the error is logged by the MDA;
* **POSIX semantics**: the ``POSIX`` flag gives leftmost-longest matches (so
  ``${0}`` is what Pigeonhole's regexec gives), and ``[[:alpha:]]`` classes;
* nothing else: patterns are translated from ERE (:func:`translate`) so
  that ``\\`` inside brackets is a literal and Python-only syntax such as
  ``(?i)`` is refused, as regcomp refuses it.

Bounds: a pattern is at most :data:`MAX_PATTERN_CHARS` characters; the
values it runs on are header values and body text, already bounded by the
message view (MAX_BODY_CHARS).
"""

from __future__ import annotations

import functools

import regex

from mailtool.mda.sieve.errors import SieveRuntimeError, SieveSyntaxError

#: seconds one search may take before the script fails safe
MATCH_TIMEOUT = 0.05
#: longest pattern accepted
MAX_PATTERN_CHARS = 1024
#: comparators the draft allows with :regex (§3)
REGEX_COMPARATORS = ("i;octet", "i;ascii-casemap")

#: GNU escapes regcomp knows, in the regex module's spelling
_GNU_ESCAPES = {"w": r"\w", "W": r"\W", "s": r"\s", "S": r"\S", "b": r"\b", "B": r"\B",
                "<": r"\m", ">": r"\M", "`": r"\A", "'": r"\Z"}  # fmt: skip


class RegexError(ValueError):
    """The pattern is not a POSIX extended regular expression we accept."""


def translate(pattern: str) -> str:
    """A POSIX ERE as the ``regex`` module's syntax (with the POSIX flag)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"longer than {MAX_PATTERN_CHARS} characters")
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise RegexError("trailing backslash")
            nxt = pattern[i + 1]
            out.append(_GNU_ESCAPES.get(nxt) or regex.escape(nxt))
            i += 2
        elif ch == "[":
            end, text = _bracket(pattern, i)
            out.append(text)
            i = end
        elif ch == "(" and pattern.startswith("(?", i):
            raise RegexError("'(?' is not POSIX ERE syntax")
        elif ch == "$":
            out.append(r"\Z")  # POSIX: the end of the string, not before a final newline
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[int, str]:
    """A bracket expression from ``start`` ('['): (index after it, translated text)."""
    i = start + 1
    out = ["["]
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        if ch == "[" and pattern.startswith(("[:", "[=", "[."), i):
            close = pattern.find(pattern[i + 1] + "]", i + 2)
            if close < 0:
                raise RegexError("unterminated character class")
            if pattern[i + 1] != ":":
                raise RegexError("collating elements [= =] and [. .] are not supported")
            out.append(pattern[i : close + 2])
            i = close + 2
        else:
            # in POSIX a backslash is literal here, and ']' first is a member
            out.append("\\" + ch if ch in "\\[]" else ch)
            i += 1
        first = False
    raise RegexError("unterminated bracket expression")


@functools.lru_cache(maxsize=256)
def compiled(pattern: str, fold: bool) -> regex.Pattern[str]:
    """The compiled pattern (cached: a script runs the same keys on every message)."""
    flags = regex.POSIX | regex.DOTALL | (regex.IGNORECASE if fold else 0)
    try:
        return regex.compile(translate(pattern), flags)
    except regex.error as exc:
        raise RegexError(str(exc)) from None


def search(pattern: str, value: str, fold: bool) -> list[str] | None:
    """``[${0}, ${1}, ...]`` when ``pattern`` matches somewhere in ``value``, else None."""
    try:
        compiled_pattern = compiled(pattern, fold)
    except RegexError as exc:
        # a key built from variables at run time: RFC 5228 §2.10.6, a runtime error
        raise SieveRuntimeError(f"regex {pattern!r}: {exc}") from None
    try:
        m = compiled_pattern.search(value, timeout=MATCH_TIMEOUT)
    except TimeoutError:
        raise SieveRuntimeError(
            f"regex {pattern!r} ran longer than {MATCH_TIMEOUT * 1000:.0f} ms; script stopped"
        ) from None
    if m is None:
        return None
    return [g or "" for g in (m.group(0), *m.groups())]


def check_keys(node: object, keys: list[str], comparator: str, variables: bool) -> None:
    """Compile-time check of constant keys (draft §3: an invalid regex is an error)."""
    line, column = getattr(node, "line", 0), getattr(node, "column", 0)
    if comparator not in REGEX_COMPARATORS:
        raise SieveSyntaxError(f'comparator "{comparator}" cannot be used with :regex',
                               line, column)  # fmt: skip
    for key in keys:
        if variables and "${" in key:
            continue  # checked when it is expanded
        try:
            compiled(key, comparator == "i;ascii-casemap")
        except RegexError as exc:
            raise SieveSyntaxError(f"invalid :regex key {key!r}: {exc}", line, column) from None
