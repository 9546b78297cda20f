"""Sorted and threaded folders from the server (RFC 5256 SORT / THREAD, RFC 5957).

When the server offers them, one ``UID SORT`` or ``UID THREAD`` gives the
whole order of a folder (and so every UID: no ``UID SEARCH`` first), and the
client needs envelopes only for the rows on screen: a 100,000-message folder
sorts by subject without downloading 100,000 headers. Each function returns
None when the server does not offer what it needs, and the caller sorts or
threads itself (:mod:`mailtool.tui.folder_view`, :mod:`.threading`).

Answers are read by the sans-I/O parser of :mod:`mailtool.protocol.imap`;
commands go through the :class:`~mailtool.client.imap.ImapClient`'s transport.
"""

from __future__ import annotations

from mailtool.client.imap import ImapClient
from mailtool.client.imap_transport import ConnectionLost, ImapClientError, Reply
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.responses import SortResult, ThreadResult
from mailtool.protocol.imap.sort import ThreadNode

#: our sorts -> RFC 5256 criteria: newest and largest first, like the local sort
CRITERIA = {
    "date": "REVERSE DATE",
    "from": "FROM",
    "subject": "SUBJECT",
    "size": "REVERSE SIZE",
    "arrival": "REVERSE ARRIVAL",
}


def criteria_for(client: ImapClient, sort: str) -> str:
    """The sort criteria for ``sort``; "from" sorts on what the list shows (the
    display name, else the address: RFC 5957 DISPLAYFROM) when the server can."""
    if sort == "from" and client.has("SORT=DISPLAY"):
        return "DISPLAYFROM"
    return CRITERIA[sort]


#: a SORT answer of a big folder has one number per message; a THREAD answer nests
#: once per branching reply (read recursively: bounded well under Python's stack)
LIMITS = Limits(max_items=10_000_000, max_depth=400)


def _charset(program: str) -> str:
    # RFC 5256 §BASE.6.4.SORT: every server takes US-ASCII and UTF-8
    return "US-ASCII" if program.isascii() else "UTF-8"


async def _run(client: ImapClient, name: str, *args: str) -> Reply | None:
    """The command's reply; None when the server refuses it (NO / BAD: a charset or
    key it does not take after all), so the caller sorts or threads itself. A lost
    connection is still raised: the session reconnects."""
    try:
        return await client.transport.run(name, *args, prefix="UID")
    except ConnectionLost:
        raise
    except ImapClientError:
        return None


def _responses(lines: list[bytes], name: bytes) -> list[object]:
    """The ``name`` responses among ``lines`` (EXISTS, FETCH... may come along)."""
    return [
        parse_response(b"* " + line + b"\r\n", limits=LIMITS)
        for line in lines
        if line[: len(name)].upper() == name
    ]


async def server_sort(client: ImapClient, sort: str, program: str = "ALL") -> list[int] | None:
    """UIDs of ``program``'s messages in ``sort`` order (``UID SORT``), or None when
    the server has no SORT."""
    if not client.has("SORT"):
        return None
    criteria = criteria_for(client, sort)
    reply = await _run(client, "SORT", f"({criteria})", _charset(program), program)
    if reply is None:
        return None
    numbers: list[int] = []
    for resp in _responses(reply.lines, b"SORT"):
        if isinstance(resp, SortResult):
            numbers.extend(resp.numbers)
    return numbers


async def server_thread(
    client: ImapClient, program: str = "ALL", algorithm: str = "REFERENCES"
) -> list[ThreadNode] | None:
    """The threads of ``program``'s messages (``UID THREAD``, UIDs, oldest thread
    first as RFC 5256 orders them), or None when the server has no such THREAD."""
    if not client.has(f"THREAD={algorithm}"):
        return None
    reply = await _run(client, "THREAD", algorithm, _charset(program), program)
    if reply is None:
        return None
    trees: list[ThreadNode] = []
    try:
        responses = _responses(reply.lines, b"THREAD")
    except ImapError:  # deeper than we read: thread it ourselves instead
        return None
    for resp in responses:
        if isinstance(resp, ThreadResult):
            trees.extend(resp.threads)
    return trees


__all__ = ["CRITERIA", "criteria_for", "server_sort", "server_thread"]
