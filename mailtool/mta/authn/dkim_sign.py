"""DKIM signing of mail our users submit (RFC 6376 §5, RFC 8463).

The signing domain is the From domain (so DMARC aligns, RFC 7489 §3.1.1); each
of its keys under ``DATA_DIR/dkim/DOMAIN/`` adds one ``DKIM-Signature`` — with
an RSA and an Ed25519 key, two, as RFC 8463 §5 recommends while Ed25519
verifiers are still rare. Without a key for the From domain, the envelope
sender's domain signs if it has one; otherwise the message goes unsigned.

Canonicalisation is relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4): it survives the
header re-folding and trailing white space changes relays are known for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import headers
from .keys import DkimKey, KeyStore, Where, load_keys

if TYPE_CHECKING:
    from mailtool.config import Config

CANONICALIZE = (b"relaxed", b"relaxed")
#: keys are re-read from disk at most this often (a new `dkim keygen` is picked up)
RELOAD_SECONDS = 60.0


def signature_fields(message: bytes, keys: Sequence[DkimKey]) -> bytes:
    """The ``DKIM-Signature`` fields (CRLF-terminated) for ``message``, one per key.

    The last key signs first so the fields end up in ``keys`` order once
    prepended; each signature covers only the message, not the other one."""
    import dkim

    out = b""
    for key in keys:
        field = dkim.sign(
            message,
            key.selector.encode(),
            key.domain.encode(),
            key.dkimpy_private,
            canonicalize=CANONICALIZE,
            signature_algorithm=key.signature_algorithm,
            linesep=b"\r\n",
        )
        out += field
    return out


def signer_from_config(cfg: Config, keys: KeyStore | None = None) -> DkimSigner:
    """The signer ``mailtool serve`` uses: the backend's keys (``Stores.dkim_keys``; without
    one, the files under ``data_dir``), ``[dkim] sign``."""
    return DkimSigner(keys if keys is not None else cfg.data_path, enabled=cfg.dkim.sign)


class DkimSigner:
    """Signs with the keys of ``data_dir`` (a data dir, or a key store: on PostgreSQL the
    table every node shares), cached and read again every :data:`RELOAD_SECONDS`: a key
    made on any node signs on every node within a minute."""

    def __init__(self, data_dir: Where, *, enabled: bool = True) -> None:
        self.data_dir = data_dir
        self.enabled = enabled  #: ``[dkim] sign``
        self._cache: dict[str, tuple[float, list[DkimKey]]] = {}

    def keys_for(self, domain: str) -> list[DkimKey]:
        now = time.monotonic()
        hit = self._cache.get(domain)
        if hit is None or now - hit[0] > RELOAD_SECONDS:
            hit = (now, load_keys(self.data_dir, domain))
            self._cache[domain] = hit
        return hit[1]

    def choose_keys(self, message: bytes, sender: str = "") -> list[DkimKey]:
        """The From domain's keys, else the envelope sender domain's (may be empty)."""
        candidates = headers.from_domains(message)[:1]
        if "@" in sender:
            candidates.append(sender.rpartition("@")[2].lower())
        for domain in candidates:
            keys = self.keys_for(domain)
            if keys:
                return keys
        return []

    async def sign(self, message: bytes, sender: str = "") -> bytes:
        """``message`` with its DKIM-Signature fields prepended (unchanged without a key).

        RSA signing is CPU work (a few ms for 2048 bits), so it runs in a thread."""
        keys = self.choose_keys(message, sender) if self.enabled else []
        if not keys:
            return message
        fields = await asyncio.to_thread(signature_fields, message, keys)
        return fields + message
