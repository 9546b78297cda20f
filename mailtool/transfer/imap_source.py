"""Import every folder of another IMAP server, as imapsync does.

``imaps://user@host[:port]`` (implicit TLS, port 993), ``imap://user@host[:port]``
(STARTTLS, port 143). Certificates are verified unless ``insecure``; plaintext
IMAP (``imap://`` without STARTTLS) only with ``plaintext`` — for a server on
loopback. Each selectable folder is EXAMINEd (read-only: nothing changes on the
source, RFC 9051 §6.3.3), its messages' UID, FLAGS, INTERNALDATE, RFC822.SIZE and
Message-ID fetched in one round trip, and only the messages not already here
(:class:`~mailtool.transfer.core.Key`) and not over the size limit fetched
whole, with ``BODY.PEEK[]`` (the source's \\Seen flags stay as they were).
Folder names arrive mUTF-7 decoded by the client; the source's hierarchy
delimiter becomes ours (``/``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mailtool.client.account import Endpoint
from mailtool.client.imap import ImapClient, ImapClientError, open_client, uid_set
from mailtool.client.imap_parse import FetchData, parse_fetch
from mailtool.errors import MailtoolError
from mailtool.store.interfaces import INBOX, InvalidFolderName
from mailtool.transfer.core import Importer, Key, TooBig, message_id
from mailtool.transfer.progress import Progress

#: messages whose metadata one UID FETCH asks for (bounds one response's size)
METADATA_BATCH = 500
#: seconds one command (a FETCH of one message) may take
COMMAND_TIMEOUT = 600.0
ITEMS = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"


class SourceError(MailtoolError):
    """The source URL is not usable."""

    exit_code = 2


@dataclass(frozen=True)
class Source:
    endpoint: Endpoint
    username: str


def parse_url(url: str, *, insecure: bool = False, plaintext: bool = False,
              cafile: str = "") -> Source:  # fmt: skip
    """``imaps://user@host[:port]`` -> where to connect and as whom."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise SourceError(f"{url!r}: expected imaps://user@host[:port] or imap://user@host")
    tls = "tls" if parts.scheme == "imaps" else ("none" if plaintext else "starttls")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError:
        raise SourceError(f"{url!r}: bad port") from None
    endpoint = Endpoint(parts.hostname, port, tls, verify=not insecure, cafile=cafile)
    return Source(endpoint, unquote(parts.username))


def internal_date(value: object) -> float:
    """INTERNALDATE as the client parsed it (a datetime), or as the wire's
    ``07-Dec-2026 04:22:05 +0000`` (RFC 9051 §9 date-time) -> POSIX time."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return dt.datetime.strptime(str(value).strip(), "%d-%b-%Y %H:%M:%S %z").timestamp()


def _message_id(data: FetchData) -> str:
    for name, value in data.items.items():
        if name.startswith("BODY[HEADER.FIELDS"):
            return message_id(value if isinstance(value, bytes) else str(value or "").encode())
    return ""


async def personal_prefix(client: ImapClient) -> str:
    """The personal namespace's prefix (RFC 2342), e.g. ``INBOX.`` on Courier and
    Cyrus: stripped from folder names, as imapsync does; '' without NAMESPACE."""
    if not client.has("NAMESPACE"):
        return ""
    try:
        reply = await client.transport.run("NAMESPACE")
    except ImapClientError:
        return ""
    for line in reply.lines:
        m = re.match(rb'NAMESPACE \(\("((?:[^"\\]|\\.)*)"', line, re.I)
        if m:
            prefix = m.group(1).decode("utf-8", "replace")
            return prefix if prefix.upper() != INBOX else ""
    return ""


async def _metadata(client: ImapClient, uids: list[int]) -> list[FetchData]:
    out = []
    for i in range(0, len(uids), METADATA_BATCH):
        chunk = uids[i : i + METADATA_BATCH]
        reply = await client.transport.run("FETCH", uid_set(chunk), ITEMS, prefix="UID")
        out += [d for d in map(parse_fetch, reply.lines) if d is not None and "UID" in d.items]
    return sorted(out, key=lambda d: int(d.items["UID"]))  # type: ignore[call-overload]


async def import_imap(importer: Importer, source: Source, password: str, progress: Progress,
                      *, only: Callable[[str], bool] | None = None) -> None:  # fmt: skip
    """Every selectable folder of the source into the same-named folder here."""
    client = await open_client(source.endpoint, source.username, password)
    # connected within the usual 30 s; a whole message per FETCH may need longer
    client.transport.timeout = COMMAND_TIMEOUT
    try:
        prefix = await personal_prefix(client)
        for folder in await client.list_folders():
            if not folder.selectable or (only is not None and not only(folder.name)):
                continue
            name = folder.name
            if prefix and name.startswith(prefix) and len(name) > len(prefix):
                name = name[len(prefix) :]  # INBOX.Sent on Courier/Cyrus -> Sent here
            if folder.delimiter and folder.delimiter != "/":
                name = "/".join(name.split(folder.delimiter))
            if name.upper() == INBOX:
                name = INBOX
            try:
                await _folder(importer, client, folder.name, name, progress)
            except (ImapClientError, InvalidFolderName) as exc:
                importer.failed_folder(name, exc)
    finally:
        await client.close()


async def _folder(importer: Importer, client: ImapClient, remote: str, name: str,
                  progress: Progress) -> None:  # fmt: skip
    info = await client.select(remote, readonly=True)
    target = importer.target(name, uidvalidity=info.uidvalidity or None)
    uids = await client.search("ALL") if info.exists else []
    progress.start(name, len(uids))
    for data in await _metadata(client, uids):
        progress.advance()
        uid = int(data.items["UID"])  # type: ignore[call-overload]
        size = int(data.items.get("RFC822.SIZE") or 0)  # type: ignore[call-overload]
        date = internal_date(data.items.get("INTERNALDATE", ""))
        flags = [str(f) for f in data.items.get("FLAGS") or ()]  # type: ignore[union-attr]
        key = Key(_message_id(data), size, int(date))
        if target.has(key):
            continue
        if size > importer.max_size:  # RFC822.SIZE says so: never fetched
            target.fail(f"UID {uid}", TooBig(f"{size} bytes"))
            continue
        try:
            body = await client.fetch_message(uid, peek=True)
        except ImapClientError as exc:
            target.fail(f"UID {uid}", exc)
            continue
        target.add(body, flags, date, uid=uid, key=key)


__all__ = ["Source", "SourceError", "import_imap", "internal_date", "parse_url"]
