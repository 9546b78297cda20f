"""mailtool.protocol.imap: the sans-I/O IMAP layer shared by server and client.

Server: :class:`CommandReader` (bytes -> commands / continuation needs),
:func:`format_response`.  Client: :func:`format_command` /
:func:`format_command_chunks`, :class:`ResponseReader` (bytes -> responses).
Generic values (ENVELOPE, BODYSTRUCTURE): :func:`format_value`, :func:`parse_value`.
"""

from mailtool.protocol.imap.command_formatter import format_command, format_command_chunks
from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.command_reader import (
    NEED_DATA,
    CommandReader,
    ContinuationLine,
    NeedContinuation,
)
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.response_reader import ResponseReader
from mailtool.protocol.imap.responses import format_response
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.status import ResponseCode, StatusResponse
from mailtool.protocol.imap.values import Atom, format_value, parse_value

__all__ = [
    "DEFAULT_LIMITS",
    "NEED_DATA",
    "Atom",
    "CommandReader",
    "ContinuationLine",
    "ImapError",
    "Limits",
    "NeedContinuation",
    "ResponseCode",
    "ResponseReader",
    "SequenceSet",
    "StatusResponse",
    "decode_mutf7",
    "encode_mutf7",
    "format_command",
    "format_command_chunks",
    "format_response",
    "format_value",
    "parse_command",
    "parse_response",
    "parse_value",
]
