"""Where DKIM signing keys are kept: ``DATA_DIR/dkim/DOMAIN/SELECTOR.key`` (the PEM
private key, mode 0600) and ``SELECTOR.pub`` (the TXT record to publish at
``SELECTOR._domainkey.DOMAIN``). The PostgreSQL twin is
:class:`mailtool.store.pg.dkim_keys.PgDkimKeys`; making keys and reading them into
signing keys is :mod:`mailtool.mta.authn.keys`' (this layer stores bytes only).

A key is never replaced: a selector that exists is refused (rotate under a new one).
"""

from __future__ import annotations

import os
from pathlib import Path

from mailtool.errors import AlreadyExists


class DkimKeyFiles:
    """The key directory of one data dir (``DataDir.dkim``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DkimKeyFiles({str(self.root)!r})"

    def add(self, domain: str, selector: str, private_pem: bytes, record: str) -> None:
        """Store a new key (names already checked as DNS labels by the caller); the
        private key file is 0600 from its first byte, fsynced before ``.pub`` appears."""
        folder = self.root / domain
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{selector}.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise AlreadyExists(
                f"{path} exists: pick another selector (keys are never replaced)"
            ) from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem)
            fh.flush()
            os.fsync(fh.fileno())
        (folder / f"{selector}.pub").write_text(record + "\n")

    def private_keys(self, domain: str) -> list[tuple[str, bytes]]:
        """``(selector, PEM)`` of every key of ``domain``, by selector."""
        folder = self.root / domain
        if not folder.is_dir():
            return []
        return [(p.stem, p.read_bytes()) for p in sorted(folder.glob("*.key"))]

    def domains(self) -> list[str]:
        """The domains that have at least one key."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.key"))
        )
