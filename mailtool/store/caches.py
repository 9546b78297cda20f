"""Small outbound caches of the MTA, kept as files in the data dir: the MTA-STS policies of
the domains we send to (RFC 8461 §5, ``DATA_DIR/mta-sts/DOMAIN.json``) and the TLS
attempts waiting for the daily TLS-RPT report (RFC 8460, ``DATA_DIR/tlsrpt/DAY.jsonl``
with a ``DAY.sent`` marker once reported). The PostgreSQL twins are in
:mod:`mailtool.store.pg.caches`; what the values mean is :mod:`mailtool.mta.authn`'s
(this layer keeps JSON objects).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


class PolicyFiles:
    """MTA-STS policies by domain, one JSON file each (domains are checked DNS names)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def load(self, domain: str) -> dict[str, Any] | None:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((self.root / f"{domain}.json").read_text())
            return data if isinstance(data, dict) else None
        return None

    def save(self, domain: str, policy: dict[str, Any]) -> None:
        """Replace the domain's policy whole (tmp -> rename: a reader sees one or the other)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{domain}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(policy))
        os.replace(tmp, path)


class ReportFiles:
    """TLS attempts by UTC day, one JSON line each, and which days were reported."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def append(self, day: str, record: dict[str, Any]) -> None:
        """Append one record (one short write; lines never interleave)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{day}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def records(self, day: str) -> list[dict[str, Any]]:
        path = self.root / f"{day}.jsonl"
        out: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    data = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if isinstance(data, dict):
                    out.append(data)
        return out

    def days(self) -> list[str]:
        """The days with records, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(path.stem for path in self.root.glob("*.jsonl"))

    def sent(self, day: str) -> bool:
        return (self.root / f"{day}.sent").exists()

    def mark_sent(self, day: str) -> None:
        (self.root / f"{day}.sent").write_text("sent\n")
