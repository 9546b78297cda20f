"""How a folder becomes rows: search, sort and threads, server-side when offered.

No UI here, so it is tested directly. The server does the work when it can
(UID SORT, UID THREAD, RFC 5256, :mod:`mailtool.client.imap_sort`): one
command gives every UID in order, and the message list then fetches
envelopes only for the rows on screen. Otherwise every envelope is fetched
(cache first) and sorted or threaded here. Plain arrival order needs no
envelopes at all. Either way a 100,000-message folder opens, sorts and
threads without downloading 100,000 headers when the server helps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mailtool.client.cache import EnvelopeCache
from mailtool.client.imap import ImapClient
from mailtool.client.imap_parse import Envelope
from mailtool.client.imap_sort import server_sort, server_thread
from mailtool.client.threading import from_server, jwz
from mailtool.protocol.imap.sort import ascii_casemap, base_subject

SORTS = ("arrival", "date", "from", "subject", "size")
CHUNK = 500


def _local_key(sort: str) -> Callable[[Envelope], object]:
    if sort == "date":
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return lambda e: (e.date if e.date and e.date.tzinfo else epoch)
    if sort == "from":
        return lambda e: ((e.from_[0].name or e.from_[0].email).lower() if e.from_ else "")
    if sort == "subject":  # as the server's SORT SUBJECT compares (RFC 5256 §2.1)
        return lambda e: ascii_casemap(base_subject(e.subject or "")[0])
    return lambda e: e.size


def search_program(query: str) -> str:
    """What the user typed -> an IMAP search program (RFC 9051 §6.4.4).

    ``from:bob subject:"lunch plans" unseen`` style terms, anything else is
    searched as TEXT; a query starting with ``=`` is sent to the server as is.
    """
    import shlex

    query = query.strip()
    if not query:
        return "ALL"
    if query.startswith("="):
        return query[1:].strip() or "ALL"
    terms = []
    try:
        words = shlex.split(query)
    except ValueError:
        words = query.split()
    for word in words:
        key, sep, value = word.partition(":")
        key = key.lower()
        if sep and key in ("from", "to", "cc", "subject", "body", "text") and value:
            terms.append(f"{key.upper()} {quote(value)}")
        elif word.lower() in ("unseen", "unread"):
            terms.append("UNSEEN")
        elif word.lower() in ("flagged", "seen", "answered", "draft"):
            terms.append(word.upper())
        else:
            terms.append(f"TEXT {quote(word)}")
    return " ".join(terms)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def all_envelopes(client: ImapClient, cache: EnvelopeCache | None, folder: str,
                        uids: list[int]) -> dict[int, Envelope]:
    """Every envelope of ``uids``: from the cache, the rest fetched in chunks."""
    have = cache.envelopes(folder, uids) if cache else {}
    missing = [u for u in uids if u not in have]
    for i in range(0, len(missing), CHUNK):
        got = await client.fetch_envelopes(missing[i:i + CHUNK])
        if cache:
            cache.save_envelopes(folder, got)
        have.update((e.uid, e) for e in got)
    return have


async def folder_rows(client: ImapClient, cache: EnvelopeCache | None, folder: str, *,
                      sort: str = "arrival", threaded: bool = False,
                      query: str | None = None) -> tuple[list[tuple[int, int]], list[int]]:
    """(rows, all UIDs, ascending) of the selected ``folder`` as the user wants to see
    them. With the server's THREAD / SORT that is one command (it names every
    UID too); otherwise a UID SEARCH, and for a sort or threads every envelope."""
    program = search_program(query) if query else "ALL"
    if threaded:
        trees = await server_thread(client, program)
        if trees is not None:
            return from_server(trees), sorted(u for t in trees for u in t.numbers())
    elif sort != "arrival":
        ordered = await server_sort(client, sort, program)
        if ordered is not None:
            return [(u, 0) for u in ordered], sorted(ordered)
    uids = await client.search(program)
    if threaded:
        envs = await all_envelopes(client, cache, folder, uids)
        return jwz(list(envs.values())), uids
    if sort == "arrival":
        return [(u, 0) for u in reversed(uids)], uids
    envs = await all_envelopes(client, cache, folder, uids)
    ordered_envs = sorted(envs.values(), key=_local_key(sort), reverse=sort in ("date", "size"))
    return [(e.uid, 0) for e in ordered_envs], uids
