"""mailtool.protocol.smtp: sans-I/O SMTP vocabulary shared by the MTA (server) and
the clients: reply codes, replies, EHLO extensions, paths, commands, dot-stuffing.

Import from here; the submodules are an implementation detail.
"""

from . import codes
from .address import (
    MAX_PATH,
    Address,
    format_path,
    is_valid_domain,
    parse_helo_domain,
    parse_mailbox,
    parse_path,
)
from .auth import reply_for_sasl_error
from .command import (
    AUTH_LINE_LIMIT,
    COMMAND_LINE_LIMIT,
    ESMTP_COMMAND_LINE_LIMIT,
    MAIL_PARAMS,
    RCPT_PARAMS,
    Command,
    MailFrom,
    RcptTo,
    command_reader,
    parse_command,
    parse_mail_from,
    parse_rcpt_to,
    xtext_decode,
    xtext_encode,
)
from .data import DEFAULT_MAX_MESSAGE_SIZE, TEXT_LINE_LIMIT, DataReader
from .dotstuff import DotReader, DotStuffer, dot_stuff
from .extensions import Ehlo, Extensions, parse_ehlo
from .lines import LineReader
from .reply import (
    MAX_REPLY_LINES,
    REPLY_LINE_LIMIT,
    REPLY_LINE_TOLERANCE,
    CommandSyntaxError,
    DataError,
    LineTooLong,
    Reply,
    ReplyParser,
    ReplySyntaxError,
    SMTPProtocolError,
    parse_reply,
)

__all__ = [
    "AUTH_LINE_LIMIT",
    "COMMAND_LINE_LIMIT",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "ESMTP_COMMAND_LINE_LIMIT",
    "MAIL_PARAMS",
    "MAX_PATH",
    "MAX_REPLY_LINES",
    "RCPT_PARAMS",
    "REPLY_LINE_LIMIT",
    "REPLY_LINE_TOLERANCE",
    "TEXT_LINE_LIMIT",
    "Address",
    "Command",
    "CommandSyntaxError",
    "DataError",
    "DataReader",
    "DotReader",
    "DotStuffer",
    "Ehlo",
    "Extensions",
    "LineReader",
    "LineTooLong",
    "MailFrom",
    "RcptTo",
    "Reply",
    "ReplyParser",
    "ReplySyntaxError",
    "SMTPProtocolError",
    "codes",
    "command_reader",
    "dot_stuff",
    "format_path",
    "is_valid_domain",
    "parse_command",
    "parse_ehlo",
    "parse_helo_domain",
    "parse_mail_from",
    "parse_mailbox",
    "parse_path",
    "parse_rcpt_to",
    "parse_reply",
    "reply_for_sasl_error",
    "xtext_decode",
    "xtext_encode",
]
