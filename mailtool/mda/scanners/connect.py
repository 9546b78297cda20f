"""Open a scanner connection: "HOST:PORT" over TCP, or a path over a unix socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mailtool.config import parse_hostport
from mailtool.errors import ConfigError
from mailtool.mda.scanners import ScannerDown


async def open_scanner(
    address: str, name: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if address.startswith("/"):
            return await asyncio.open_unix_connection(address, limit=64 * 1024)
        host, port = parse_hostport(address, key=f"scan.{name}")
        return await asyncio.open_connection(host, port, limit=64 * 1024)
    except ConfigError as exc:
        raise ScannerDown(f"{name}: {exc}") from None
    except OSError as exc:
        raise ScannerDown(f"{name} at {address}: {exc.strerror or exc}") from None


Conversation = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bytes]]


async def talk(address: str, name: str, timeout: float, conversation: Conversation) -> bytes:
    """Connect, run ``conversation``, close; everything within ``timeout`` or ScannerDown."""

    async def run() -> bytes:
        reader, writer = await open_scanner(address, name)
        try:
            return await conversation(reader, writer)
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        raise ScannerDown(f"{name} at {address}: no answer within {timeout:g}s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise ScannerDown(f"{name} at {address}: {exc}") from None
