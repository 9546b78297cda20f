"""SMTP command lines: the verb and argument split, and MAIL FROM / RCPT TO with
their ESMTP parameters (RFC 5321 §4.1.1.2-3, §4.1.2).

Parameters understood: SIZE (RFC 1870), BODY (RFC 6152 8BITMIME, RFC 3030
BINARYMIME), SMTPUTF8 (RFC 6531), RET / ENVID / NOTIFY / ORCPT (RFC 3461 DSN),
AUTH (RFC 4954 §5), REQUIRETLS (RFC 8689). A server passes the keywords it
advertised as ``allowed``; anything else is a 555 (RFC 5321 §4.1.1.11).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from . import codes
from .address import Address, format_path, parse_path
from .lines import LineReader
from .reply import CommandSyntaxError, Reply, line_too_long

#: RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF
COMMAND_LINE_LIMIT = 512
#: MAIL and RCPT lines may grow by the ESMTP parameters of the extensions they
#: use (RFC 1870 §3 +26, RFC 3461 §4 +100 ENVID / +500 ORCPT, RFC 4954 §5 +500 AUTH)
ESMTP_COMMAND_LINE_LIMIT = COMMAND_LINE_LIMIT + 26 + 100 + 500 + 500
#: RFC 4954 §4: an AUTH command line or SASL response line is at most 12288 octets
AUTH_LINE_LIMIT = 12288
#: RFC 3461 §4.4: ENVID is at most 100 characters (before xtext decoding)
MAX_ENVID = 100
#: RFC 3461 §4.2: ORCPT is at most 500 characters
MAX_ORCPT = 500
#: a cap on the number of ESMTP parameters on one line, to bound the work
MAX_PARAMS = 16

MAIL_PARAMS = frozenset({"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH", "REQUIRETLS"})
RCPT_PARAMS = frozenset({"NOTIFY", "ORCPT"})

_VERB = re.compile(rb"[A-Za-z]{1,12}")
# esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 §3.3 adds UTF8-non-ascii
_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e\u00a0-\ud7ff\ue000-\U0010ffff]+")
_XTEXT = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*")


def _syntax(why: str, enh: str = codes.ES_SYNTAX) -> CommandSyntaxError:
    return CommandSyntaxError(Reply(codes.C501_PARAM_SYNTAX_ERROR, (why,), enh))


@dataclass(frozen=True)
class Command:
    """One command line: ``verb`` upper-cased, ``argument`` the rest as text."""

    verb: str
    argument: str = ""

    def format(self) -> bytes:
        return (f"{self.verb} {self.argument}" if self.argument else self.verb).encode() + b"\r\n"


def parse_command(line: bytes, *, max_length: int = ESMTP_COMMAND_LINE_LIMIT) -> Command:
    """Split a command line (with or without its CRLF) into verb and argument.

    RFC 5321 §2.4: verbs are case-insensitive. The argument is decoded as
    UTF-8 (RFC 6531 allows it after SMTPUTF8; before, non-ASCII addresses are
    refused by the path parser).
    """
    if len(line) > max_length:
        raise line_too_long()
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    verb, _, arg = line.partition(b" ")
    if not _VERB.fullmatch(verb):
        raise CommandSyntaxError(
            Reply(codes.C500_SYNTAX_ERROR, ("command unrecognized",), codes.ES_INVALID_COMMAND)
        )
    try:
        text = arg.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandSyntaxError(
            Reply(codes.C500_SYNTAX_ERROR, ("argument is not UTF-8",), codes.ES_SYNTAX)
        ) from None
    if any(c < " " or c == "\x7f" for c in text):
        raise _syntax("control character in command")
    return Command(verb.decode("ascii").upper(), text)


def command_reader(max_line: int = ESMTP_COMMAND_LINE_LIMIT) -> LineReader:
    """A :class:`LineReader` for command lines; an over-long line raises
    :class:`LineTooLong` carrying ``500 5.5.2`` (RFC 5321 §4.5.3.1.4)."""
    return LineReader(max_line, line_too_long)


def xtext_decode(text: str) -> str:
    """RFC 3461 §4: ``+XX`` hex escapes; raises :class:`CommandSyntaxError`."""
    if not _XTEXT.fullmatch(text):
        raise _syntax("invalid xtext", codes.ES_INVALID_ARGS)
    raw = re.sub(rb"\+([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode())
    try:
        return raw.decode("utf-8")  # the inverse of xtext_encode
    except UnicodeDecodeError:
        raise _syntax("xtext is not UTF-8", codes.ES_INVALID_ARGS) from None


def xtext_encode(text: str) -> str:
    """RFC 3461 §4: everything outside ``!``..``~`` and ``+``, ``=`` as ``+XX``.
    Non-ASCII is UTF-8 encoded first (RFC 6533 has a better form; this one is
    what every DSN implementation reads)."""
    return "".join(
        chr(b) if 0x21 <= b <= 0x7E and b not in (0x2B, 0x3D) else f"+{b:02X}"
        for b in text.encode("utf-8")
    )


def _split_params(text: str, allowed: Collection[str]) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    words = text.split(" ") if text else []
    if len(words) > MAX_PARAMS:
        raise _syntax("too many parameters", codes.ES_INVALID_ARGS)
    for word in words:
        key, eq, value = word.partition("=")
        if not _KEYWORD.fullmatch(key) or (eq and not _VALUE.fullmatch(value)):
            raise _syntax(f"bad parameter {word[:40]!r}", codes.ES_INVALID_ARGS)
        key = key.upper()
        if key not in allowed:
            raise CommandSyntaxError(
                Reply(
                    codes.C555_PARAMS_NOT_RECOGNIZED,
                    (f"parameter {key} not recognized",),
                    codes.ES_INVALID_ARGS,
                )
            )
        if key in params:
            raise _syntax(f"duplicate parameter {key}", codes.ES_INVALID_ARGS)
        params[key] = value if eq else None
    return params


def _split_path(arg: str, prefix: str, reverse: bool) -> tuple[str, str]:
    """``FROM:<path> params`` -> (``<path>``, ``params``). RFC 5321 §4.1.1.2
    has no space after the colon; RFC 5321 §4.1.1.2 is widely violated with
    one, which we accept (as Postfix and aiosmtpd do)."""
    if arg[: len(prefix)].upper() != prefix:
        raise _syntax(f"expected {prefix}<path>")
    rest = arg[len(prefix) :].lstrip(" ")
    if not rest.startswith("<"):
        enh = codes.ES_BAD_SENDER_SYNTAX if reverse else codes.ES_BAD_DEST_SYNTAX
        raise _syntax("path must be enclosed in <>", enh)
    # The path ends at the first '>' outside a quoted string.
    in_quote = escaped = False
    for i, c in enumerate(rest):
        if escaped:
            escaped = False
        elif c == "\\" and in_quote:
            escaped = True
        elif c == '"':
            in_quote = not in_quote
        elif c == ">" and not in_quote:
            path, params = rest[: i + 1], rest[i + 1 :]
            if params and not params.startswith(" "):
                raise _syntax("parameters must follow the path after a space")
            return path, params.strip(" ")
    raise _syntax("path not closed with >")


def _required(params: dict[str, str | None], key: str) -> str | None:
    value = params.get(key)
    if key in params and value is None:
        raise _syntax(f"{key} needs a value", codes.ES_INVALID_ARGS)
    return value


@dataclass(frozen=True)
class MailFrom:
    """``MAIL FROM:<sender> params``; ``sender`` None is the null reverse-path."""

    sender: Address | None
    size: int | None = None  # RFC 1870
    body: str | None = None  # "7BIT", "8BITMIME" or "BINARYMIME"
    smtputf8: bool = False  # RFC 6531
    ret: str | None = None  # "FULL" or "HDRS", RFC 3461 §4.3
    envid: str | None = None  # decoded xtext, RFC 3461 §4.4
    auth: str | None = None  # decoded xtext mailbox or "<>", RFC 4954 §5
    requiretls: bool = False  # RFC 8689

    def format(self) -> str:
        """The argument text after ``MAIL `` (a client sends ``MAIL `` + this)."""
        out = ["FROM:" + format_path(self.sender)]
        if self.size is not None:
            out.append(f"SIZE={self.size}")
        if self.body:
            out.append(f"BODY={self.body}")
        if self.smtputf8:
            out.append("SMTPUTF8")
        if self.ret:
            out.append(f"RET={self.ret}")
        if self.envid is not None:
            out.append(f"ENVID={xtext_encode(self.envid)}")
        if self.auth is not None:
            out.append(f"AUTH={xtext_encode(self.auth)}")
        if self.requiretls:
            out.append("REQUIRETLS")
        return " ".join(out)


def parse_mail_from(arg: str, *, allowed: Collection[str] = MAIL_PARAMS) -> MailFrom:
    """Parse the argument of MAIL (``FROM:<a@b> SIZE=10``).

    The path may use UTF-8 only when the SMTPUTF8 parameter is present (RFC 6531
    §3.4); ``allowed`` lists the parameter keywords the server advertised.
    """
    path, rest = _split_path(arg, "FROM:", True)
    params = _split_params(rest, allowed)
    if "SMTPUTF8" in params and params["SMTPUTF8"] is not None:
        raise _syntax("SMTPUTF8 takes no value", codes.ES_INVALID_ARGS)
    if "REQUIRETLS" in params and params["REQUIRETLS"] is not None:
        raise _syntax("REQUIRETLS takes no value", codes.ES_INVALID_ARGS)
    smtputf8 = "SMTPUTF8" in params
    sender = parse_path(path, reverse=True, smtputf8=smtputf8)
    size = _required(params, "SIZE")
    if size is not None and not (size.isascii() and size.isdigit() and len(size) <= 20):
        raise _syntax("SIZE must be a number", codes.ES_INVALID_ARGS)
    body = _required(params, "BODY")
    if body is not None:
        body = body.upper()
        if body not in ("7BIT", "8BITMIME", "BINARYMIME"):
            raise _syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME", codes.ES_INVALID_ARGS)
    ret = _required(params, "RET")
    if ret is not None:
        ret = ret.upper()
        if ret not in ("FULL", "HDRS"):
            raise _syntax("RET must be FULL or HDRS", codes.ES_INVALID_ARGS)
    envid = _required(params, "ENVID")
    if envid is not None:
        if len(envid) > MAX_ENVID:
            raise _syntax("ENVID too long", codes.ES_INVALID_ARGS)
        envid = xtext_decode(envid)
    auth = _required(params, "AUTH")
    return MailFrom(
        sender,
        size=int(size) if size is not None else None,
        body=body,
        smtputf8=smtputf8,
        ret=ret,
        envid=envid,
        auth=xtext_decode(auth) if auth is not None else None,
        requiretls="REQUIRETLS" in params,
    )


NOTIFY_VALUES = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True)
class RcptTo:
    """``RCPT TO:<recipient> params``."""

    recipient: Address
    notify: tuple[str, ...] | None = None  # ("NEVER",) or some of SUCCESS/FAILURE/DELAY
    orcpt: tuple[str, str] | None = field(default=None)  # (addr-type, decoded address)

    def format(self) -> str:
        out = ["TO:" + format_path(self.recipient)]
        if self.notify:
            out.append("NOTIFY=" + ",".join(self.notify))
        if self.orcpt:
            out.append(f"ORCPT={self.orcpt[0]};{xtext_encode(self.orcpt[1])}")
        return " ".join(out)


def parse_rcpt_to(
    arg: str, *, smtputf8: bool = False, allowed: Collection[str] = RCPT_PARAMS
) -> RcptTo:
    """Parse the argument of RCPT (``TO:<a@b> NOTIFY=FAILURE``). ``smtputf8`` is
    whether this transaction's MAIL carried SMTPUTF8 (RFC 6531 §3.4)."""
    path, rest = _split_path(arg, "TO:", False)
    params = _split_params(rest, allowed)
    recipient = parse_path(path, reverse=False, smtputf8=smtputf8)
    assert recipient is not None  # forward paths are never null
    notify = _required(params, "NOTIFY")
    notify_t: tuple[str, ...] | None = None
    if notify is not None:
        # RFC 3461 §4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY
        notify_t = tuple(v.upper() for v in notify.split(","))
        ok = notify_t == ("NEVER",) or (
            set(notify_t) <= NOTIFY_VALUES and len(set(notify_t)) == len(notify_t)
        )
        if not ok:
            raise _syntax("NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY", codes.ES_INVALID_ARGS)
    orcpt = _required(params, "ORCPT")
    orcpt_t = None
    if orcpt is not None:
        # RFC 3461 §4.2: ORCPT=addr-type ";" xtext
        addr_type, semi, xtext = orcpt.partition(";")
        if len(orcpt) > MAX_ORCPT or not semi or not _KEYWORD.fullmatch(addr_type):
            raise _syntax("ORCPT must be addr-type;xtext", codes.ES_INVALID_ARGS)
        orcpt_t = (addr_type, xtext_decode(xtext))
    return RcptTo(recipient, notify=notify_t, orcpt=orcpt_t)
