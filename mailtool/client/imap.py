"""The IMAP client the TUI and ``mailtool send`` use.

:class:`ImapClient` speaks in mail-reader terms (folders, envelopes, flags,
move to Trash) over one :class:`~mailtool.client.imap_transport.Transport`.
Everything is by UID (RFC 9051 §6.4.9) so results stay valid while other
clients change the mailbox. Server extensions are used when advertised and
replaced by the base protocol when not: MOVE (RFC 6851) else COPY + STORE
\\Deleted + UID EXPUNGE (RFC 4315) / EXPUNGE; SPECIAL-USE (RFC 6154) else
well-known names; SORT/THREAD (RFC 5256) else the caller sorts and threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mailtool.client.account import Endpoint
from mailtool.client.imap_parse import (
    Envelope,
    Folder,
    MailboxInfo,
    envelope_from_fetch,
    parse_fetch,
    parse_list,
    parse_search,
    parse_select,
    parse_status,
    parse_uid_map,
    response_codes,
)
from mailtool.client.imap_transport import (
    ConnectionLost,
    ImapClientError,
    Transport,
    arg,
)
from mailtool.errors import AuthError, ProtocolError
from mailtool.protocol.imap.mutf7 import encode_mutf7
from mailtool.protocol.imap.sequence import SequenceSet

ENVELOPE_ITEMS = "(UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (References)])"
#: well-known names when the server does not announce SPECIAL-USE
GUESSES = {
    "\\Sent": ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent"),
    "\\Drafts": ("Drafts", "INBOX.Drafts"),
    "\\Trash": ("Trash", "Deleted Items", "Deleted Messages", "INBOX.Trash"),
    "\\Junk": ("Junk", "Spam", "INBOX.Junk"),
    "\\Archive": ("Archive", "Archives", "INBOX.Archive"),
}

__all__ = [
    "ENVELOPE_ITEMS",
    "ConnectionLost",
    "Envelope",
    "Folder",
    "ImapClient",
    "ImapClientError",
    "MailboxInfo",
    "Resync",
    "parse_vanished",
    "uid_set",
]


def uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1:3,7"``."""
    return SequenceSet.from_numbers(uids).to_wire().decode("ascii")


class ImapClient:
    """One authenticated IMAP connection with a selected folder (or none)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        cafile: str | None = None,
        timeout: float = 30.0,
        on_lost: Callable[[Exception | None], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.transport = Transport(
            endpoint.host,
            endpoint.port,
            endpoint.tls,
            verify=endpoint.verify,
            cafile=cafile or endpoint.cafile or None,
            timeout=timeout,
            on_lost=on_lost,
        )
        self.selected: str | None = None
        self.info = MailboxInfo()
        self.enabled: set[str] = set()
        self._folders: list[Folder] | None = None

    # ------------------------------------------------------------------ session

    @property
    def capabilities(self) -> set[str]:
        return self.transport.capabilities

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    @property
    def connected(self) -> bool:
        return self.transport.imap is not None and not self.transport.lost

    async def connect(self, username: str, password: str) -> None:
        """Connect, upgrade to TLS as configured, log in, enable what helps."""
        await self.transport.connect()
        if "LOGINDISABLED" in self.capabilities:
            raise AuthError(
                f"{self.endpoint.host} refuses LOGIN on this connection "
                '(use imap_tls = "tls" or "starttls")'
            )
        try:
            await self.transport.run("LOGIN", arg(username), arg(password), scrub=password)
        except ConnectionLost:
            raise
        except ImapClientError as exc:
            raise AuthError(f"login as {username} failed: {exc}") from None
        self.transport.set_state("AUTH")
        # RFC 9051 §7.2.2: capabilities may change after login
        self.transport.protocol.capabilities = set()
        await self.transport.protocol.capability()
        # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE; enable what is offered
        wanted = [x for x in ("CONDSTORE", "QRESYNC") if self.has(x)]
        if self.has("ENABLE") and wanted:
            reply = await self.transport.run("ENABLE", *wanted)
            for line in reply.lines:
                if line.upper().startswith(b"ENABLED"):
                    self.enabled |= set(line.decode("ascii", "replace").upper().split()[1:])
            if "QRESYNC" in self.enabled:
                self.enabled.add("CONDSTORE")

    @property
    def qresync(self) -> bool:
        """True when QRESYNC is on for this connection (RFC 7162 §3.2.3)."""
        return "QRESYNC" in self.enabled

    async def close(self) -> None:
        await self.transport.close()

    async def noop(self) -> None:
        await self.transport.run("NOOP")

    # ------------------------------------------------------------------ folders

    async def list_folders(self) -> list[Folder]:
        """All folders; special-use ones get their attribute even without SPECIAL-USE."""
        args = ['""', '"*"']
        if self.has("SPECIAL-USE"):
            args += ["RETURN", "(SPECIAL-USE)"]
        reply = await self.transport.run("LIST", *args)
        folders = [f for f in (parse_list(line) for line in reply.lines) if f is not None]
        folders = _guess_special(folders)
        self._folders = folders
        return folders

    async def special_folder(self, use: str, *, create: bool = True) -> str:
        """The name of the ``\\Sent`` / ``\\Drafts`` / ``\\Trash`` ... folder."""
        folders = self._folders if self._folders is not None else await self.list_folders()
        for f in folders:
            if f.special == use:
                return f.name
        name = GUESSES[use][0]
        if create:
            await self.create_folder(name)
            await self.list_folders()
        return name

    async def status(self, folder: str) -> MailboxInfo:
        items = "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY"
        items += " HIGHESTMODSEQ)" if self.has("CONDSTORE") else ")"
        reply = await self.transport.run("STATUS", self._mbox(folder), items)
        for line in reply.lines:
            parsed = parse_status(line)
            if parsed is not None:
                return parsed[1]
        return MailboxInfo()

    async def create_folder(self, name: str) -> None:
        await self.transport.run("CREATE", self._mbox(name))
        self._folders = None

    async def rename_folder(self, old: str, new: str) -> None:
        await self.transport.run("RENAME", self._mbox(old), self._mbox(new))
        self._folders = None

    async def delete_folder(self, name: str) -> None:
        if self.selected == name:  # a server may refuse to delete the selected folder
            await self.select("INBOX")
        await self.transport.run("DELETE", self._mbox(name))
        self._folders = None

    # ------------------------------------------------------------------ selection

    async def select(self, folder: str, *, readonly: bool = False) -> MailboxInfo:
        """SELECT (or EXAMINE) ``folder``; CONDSTORE when offered (RFC 7162 §3.1.8)."""
        args = [self._mbox(folder)]
        if self.has("CONDSTORE") and not self.has("ENABLE"):
            args.append("(CONDSTORE)")
        self.selected = None
        reply = await self.transport.run("EXAMINE" if readonly else "SELECT", *args)
        self.transport.set_state("SELECTED")
        self.selected = folder
        self.info = parse_select(reply.lines, reply.text)
        return self.info

    async def resync(self, folder: str, uidvalidity: int, modseq: int,
                     known_uids: Sequence[int]) -> tuple[MailboxInfo, Resync]:
        """SELECT with QRESYNC (RFC 7162 §3.2.5): what changed since ``modseq``.

        The server answers with ``VANISHED (EARLIER)`` for the known UIDs that
        are gone and a FETCH (FLAGS MODSEQ) for each message changed since, so a
        cached folder is brought up to date without fetching it again. Without
        QRESYNC (or with a new UIDVALIDITY, when the server ignores the
        parameter) the result says ``complete=False``.
        """
        if not self.qresync or not uidvalidity or not modseq:
            return await self.select(folder), Resync(complete=False)
        param = f"(QRESYNC ({uidvalidity} {modseq}"
        param += f" {uid_set(known_uids)}))" if known_uids else "))"
        self.selected = None
        reply = await self.transport.run("SELECT", self._mbox(folder), param)
        self.transport.set_state("SELECTED")
        self.selected = folder
        self.info = parse_select(reply.lines, reply.text)
        result = Resync(complete=self.info.uidvalidity == uidvalidity)
        for line in reply.lines:
            if line.upper().startswith(b"VANISHED "):
                result.vanished |= set(parse_vanished(line, known_uids))
                continue
            data = parse_fetch(line)
            if data is not None and "UID" in data.items and "FLAGS" in data.items:
                result.flags[int(data.items["UID"])] = tuple(data.items["FLAGS"])  # type: ignore
        return self.info, result

    # ------------------------------------------------------------------ reading

    async def search(self, query: str = "ALL") -> list[int]:
        """UID SEARCH with a raw IMAP search program (``UNSEEN FROM "bob"``)."""
        charset = ["CHARSET", "UTF-8"] if not query.isascii() else []
        reply = await self.transport.run("SEARCH", *charset, query, prefix="UID")
        return sorted(parse_search(reply.lines))

    async def fetch_envelopes(self, uids: Sequence[int]) -> list[Envelope]:
        """Envelope, flags, size and References for ``uids`` (one round trip)."""
        if not uids:
            return []
        items = ENVELOPE_ITEMS
        if self.has("CONDSTORE"):
            items = items[:-1] + " MODSEQ)"
        reply = await self.transport.run("FETCH", uid_set(uids), items, prefix="UID")
        out = []
        for line in reply.lines:
            data = parse_fetch(line)
            if data is not None and "ENVELOPE" in data.items:
                out.append(envelope_from_fetch(data))
        return out

    async def fetch_flags(
        self, uids: Sequence[int] | str, changed_since: int | None = None
    ) -> dict[int, tuple[str, ...]]:
        """UID -> flags; with ``changed_since`` only those changed (RFC 7162 §3.1.4)."""
        which = uids if isinstance(uids, str) else uid_set(uids)
        args = [which, "(UID FLAGS)"]
        if changed_since is not None and self.has("CONDSTORE"):
            args.append(f"(CHANGEDSINCE {changed_since})")
        reply = await self.transport.run("FETCH", *args, prefix="UID")
        out: dict[int, tuple[str, ...]] = {}
        for line in reply.lines:
            data = parse_fetch(line)
            if data is not None and "UID" in data.items:
                out[int(data.items["UID"])] = tuple(data.items.get("FLAGS", ()))  # type: ignore
        return out

    async def fetch_message(self, uid: int, *, peek: bool = False) -> bytes:
        """The whole message (``BODY[]``); marks it \\Seen unless ``peek``."""
        item = "BODY.PEEK[]" if peek else "BODY[]"
        reply = await self.transport.run("FETCH", str(uid), f"(UID {item})", prefix="UID")
        for line in reply.lines:
            data = parse_fetch(line)
            if data is not None and data.items.get("UID") == uid and "BODY[]" in data.items:
                body = data.items["BODY[]"]
                return body if isinstance(body, bytes) else str(body).encode()
        raise ImapClientError(f"message UID {uid} is gone from {self.selected}")

    # ------------------------------------------------------------------ acting

    async def store(self, uids: Sequence[int], flags: Iterable[str], *, add: bool = True) -> None:
        op = "+FLAGS.SILENT" if add else "-FLAGS.SILENT"
        await self.transport.run("STORE", uid_set(uids), op, f"({' '.join(flags)})", prefix="UID")

    async def copy(self, uids: Sequence[int], dest: str) -> dict[int, int]:
        """COPY; returns {old uid: new uid} when the server says (UIDPLUS COPYUID)."""
        reply = await self.transport.run("COPY", uid_set(uids), self._mbox(dest), prefix="UID")
        return parse_uid_map(response_codes(reply.text).get("COPYUID", ""))

    async def move(self, uids: Sequence[int], dest: str) -> dict[int, int]:
        """MOVE (RFC 6851), else COPY + \\Deleted + expunge of just these UIDs."""
        if self.has("MOVE"):
            reply = await self.transport.run("MOVE", uid_set(uids), self._mbox(dest), prefix="UID")
            codes: dict[str, str] = {}
            for line in [*reply.lines, reply.text.encode()]:
                codes.update(response_codes(line))
            return parse_uid_map(codes.get("COPYUID", ""))
        mapping = await self.copy(uids, dest)
        await self.expunge(uids)
        return mapping

    async def expunge(self, uids: Sequence[int]) -> None:
        """Remove ``uids`` for good: \\Deleted, then UID EXPUNGE (RFC 4315) or EXPUNGE."""
        await self.store(uids, ["\\Deleted"])
        if self.has("UIDPLUS"):
            await self.transport.run("EXPUNGE", uid_set(uids), prefix="UID")
        else:
            await self.transport.run("EXPUNGE")

    async def append(self, folder: str, message: bytes, flags: Iterable[str] = ()) -> int | None:
        """APPEND; the new UID when the server says (RFC 4315 APPENDUID)."""
        flag_text = " ".join(flags) or None
        text = await self.transport.append(self._mbox(folder), message, flags=flag_text)
        value = response_codes(text).get("APPENDUID", "").split()
        return int(value[1]) if len(value) == 2 and value[1].isdigit() else None

    async def find_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs in ``folder`` whose Message-ID is ``message_id`` (selects the folder)."""
        await self.select(folder)
        return await self.search(f"HEADER Message-ID {arg(message_id)}")

    # ------------------------------------------------------------------ helpers

    def _mbox(self, name: str) -> str:
        if name.upper() == "INBOX":
            return "INBOX"
        return arg(encode_mutf7(name))


@dataclass
class Resync:
    """What a QRESYNC SELECT reported: UIDs gone and new flags of changed messages."""

    complete: bool
    vanished: set[int] = field(default_factory=set)
    flags: dict[int, tuple[str, ...]] = field(default_factory=dict)


def parse_vanished(line: bytes, known: Iterable[int]) -> list[int]:
    """The ``known`` UIDs that ``VANISHED (EARLIER) 3:5,9`` reports gone (RFC 7162 §3.2.10)."""
    words = line.split()
    if len(words) < 2:
        return []
    try:
        return SequenceSet.parse(words[-1]).filter(known)
    except ProtocolError:  # a malformed set: nothing we can trust
        return []


def _guess_special(folders: list[Folder]) -> list[Folder]:
    """Give well-known names their special use when no folder announces it."""
    announced = {f.special for f in folders if f.special}
    by_name = {f.name.lower(): f for f in folders}
    out = {f.name: f for f in folders}
    for use, names in GUESSES.items():
        if use in announced:
            continue
        for name in names:
            f = by_name.get(name.lower())
            if f is not None:
                out[f.name] = Folder(f.name, f.delimiter, f.attributes | {use})
                break
    return list(out.values())


async def open_client(
    endpoint: Endpoint,
    username: str,
    password: str,
    *,
    cafile: str | None = None,
    on_lost: Callable[[Exception | None], None] | None = None,
) -> ImapClient:
    """Connect and log in; close the connection again if login fails."""
    client = ImapClient(endpoint, cafile=cafile, on_lost=on_lost)
    try:
        await client.connect(username, password)
    except BaseException:
        await asyncio.shield(client.close())
        raise
    return client
