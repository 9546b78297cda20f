"""folder_rows without a screen: the server's SORT / THREAD when offered (one command,
no envelopes), the client's own sort and RFC 5256 threading otherwise."""

from __future__ import annotations

import asyncio
import datetime as dt

from mailtool.client.imap_parse import Address, Envelope
from mailtool.client.imap_transport import ImapClientError, Reply
from mailtool.tui.folder_view import folder_rows


def env(uid: int, subject: str, day: int, sender: str, size: int, mid: str,
        refs: tuple[str, ...] = ()) -> Envelope:
    return Envelope(uid=uid, subject=subject, date=dt.datetime(2023, 1, day, tzinfo=dt.UTC),
                    from_=(Address(sender, f"{sender.lower()}@x.test"),), size=size,
                    message_id=mid, references=refs)


ENVELOPES = [
    env(1, "Plan", 1, "Carol", 300, "<p@x>"),
    env(2, "Budget", 3, "Ann", 100, "<b@x>"),
    env(3, "Re: Plan", 2, "Bob", 200, "<r@x>", ("<p@x>",)),
]


class FakeClient:
    """Answers like a server; records what was asked."""

    def __init__(self, caps: set[str], refuse: bool = False) -> None:
        self.caps = caps
        self.refuse = refuse
        self.commands: list[str] = []
        self.envelopes_fetched: list[int] = []
        self.transport = self

    def has(self, cap: str) -> bool:
        return cap in self.caps

    async def run(self, name: str, *args: str, prefix: str | None = None) -> Reply:
        self.commands.append(" ".join((prefix or "", name, *args)).strip())
        if self.refuse:
            raise ImapClientError(f"{name} failed: NO [BADCHARSET] not today")
        if name == "SORT":
            return Reply([b"SORT " + {"(SUBJECT)": b"2 1 3", "(DISPLAYFROM)": b"2 3 1"}[args[0]]],
                         "OK")
        assert name == "THREAD"
        return Reply([b"THREAD (2)(1 3)"], "OK")

    async def search(self, program: str) -> list[int]:
        self.commands.append(f"UID SEARCH {program}")
        return [1, 2, 3]

    async def fetch_envelopes(self, uids: list[int]) -> list[Envelope]:
        self.envelopes_fetched += uids
        return [e for e in ENVELOPES if e.uid in uids]


def rows(client: FakeClient, **kwargs: object) -> tuple[list[tuple[int, int]], list[int]]:
    return asyncio.run(folder_rows(client, None, "INBOX", **kwargs))  # type: ignore[arg-type]


def test_server_sort_and_thread_need_one_command_and_no_envelopes() -> None:
    client = FakeClient({"SORT", "SORT=DISPLAY", "THREAD=REFERENCES"})
    assert rows(client, sort="subject") == ([(2, 0), (1, 0), (3, 0)], [1, 2, 3])
    assert rows(client, sort="from") == ([(2, 0), (3, 0), (1, 0)], [1, 2, 3])
    assert rows(client, threaded=True) == ([(1, 0), (3, 1), (2, 0)], [1, 2, 3])
    assert client.commands == [
        "UID SORT (SUBJECT) US-ASCII ALL",
        "UID SORT (DISPLAYFROM) US-ASCII ALL",
        "UID THREAD REFERENCES US-ASCII ALL",
    ]
    assert client.envelopes_fetched == []


def test_without_sort_the_client_sorts_and_threads_itself() -> None:
    client = FakeClient(set())
    assert rows(client, sort="subject")[0] == [(2, 0), (1, 0), (3, 0)]
    assert rows(client, sort="date")[0] == [(2, 0), (3, 0), (1, 0)]
    assert rows(client, sort="size")[0] == [(1, 0), (3, 0), (2, 0)]
    # RFC 5256 REFERENCES here too; the thread with the newest message first
    assert rows(client, threaded=True)[0] == [(2, 0), (1, 0), (3, 1)]
    assert all(c == "UID SEARCH ALL" for c in client.commands)
    assert sorted(set(client.envelopes_fetched)) == [1, 2, 3]


def test_a_refused_sort_falls_back_to_the_client() -> None:
    client = FakeClient({"SORT", "THREAD=REFERENCES"}, refuse=True)
    assert rows(client, sort="size")[0] == [(1, 0), (3, 0), (2, 0)]
    assert rows(client, threaded=True)[0] == [(2, 0), (1, 0), (3, 1)]
    assert client.commands[0] == "UID SORT (REVERSE SIZE) US-ASCII ALL"
