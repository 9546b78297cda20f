"""The local envelope cache: SQLite under ``$XDG_CACHE_HOME/mailtool/``.

One database per account keeps, per folder, the UIDVALIDITY, the UID list,
the envelopes and flags already fetched, and the folder list with counts. The
TUI paints from it at start-up (instant, and offline), then refreshes from the
server. A folder whose UIDVALIDITY changed is forgotten (RFC 9051 §2.3.1.1:
the UIDs no longer mean the same messages).

Only headers live here, never bodies: the cache holds nothing that would hurt
if it leaked beyond what the folder list shows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

from mailtool.client.imap_parse import Address, Envelope, Folder, MailboxInfo

_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    name TEXT PRIMARY KEY, delimiter TEXT, attributes TEXT,
    uidvalidity INTEGER DEFAULT 0, exists_ INTEGER DEFAULT 0, unseen INTEGER DEFAULT 0,
    uidnext INTEGER DEFAULT 0, highestmodseq INTEGER DEFAULT 0, uids TEXT DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS envelopes (
    folder TEXT, uid INTEGER, data TEXT, PRIMARY KEY (folder, uid)
);
CREATE TABLE IF NOT EXISTS addresses (email TEXT PRIMARY KEY, name TEXT, seen INTEGER);
CREATE TABLE IF NOT EXISTS view (key TEXT PRIMARY KEY, value TEXT);
"""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailtool"


def _addr_list(addrs: tuple[Address, ...]) -> list[list[str]]:
    return [[a.name, a.email] for a in addrs]


def envelope_to_json(env: Envelope) -> str:
    return json.dumps({
        "flags": list(env.flags), "date": env.date.isoformat() if env.date else None,
        "subject": env.subject, "from": _addr_list(env.from_), "to": _addr_list(env.to),
        "cc": _addr_list(env.cc), "reply_to": _addr_list(env.reply_to),
        "message_id": env.message_id, "in_reply_to": env.in_reply_to,
        "references": list(env.references), "size": env.size, "modseq": env.modseq,
    })


def envelope_from_json(uid: int, text: str) -> Envelope:
    d = json.loads(text)

    def addrs(key: str) -> tuple[Address, ...]:
        return tuple(Address(n, e) for n, e in d.get(key, []))

    return Envelope(
        uid=uid, flags=tuple(d["flags"]),
        date=dt.datetime.fromisoformat(d["date"]) if d.get("date") else None,
        subject=d["subject"], from_=addrs("from"), to=addrs("to"), cc=addrs("cc"),
        reply_to=addrs("reply_to"), message_id=d["message_id"], in_reply_to=d["in_reply_to"],
        references=tuple(d["references"]), size=d["size"], modseq=d.get("modseq", 0),
    )


class EnvelopeCache:
    """One account's cache. Cheap to open; every write commits."""

    def __init__(self, account: str, directory: Path | None = None) -> None:
        directory = directory or cache_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / f"{account}.sqlite"
        self.db = sqlite3.connect(self.path)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- folders -----------------------------------------------------------------

    def save_folders(self, folders: list[Folder]) -> None:
        with self.db:
            names = [f.name for f in folders]
            self.db.execute(
                f"DELETE FROM folders WHERE name NOT IN ({','.join('?' * len(names))})", names)
            for f in folders:
                self.db.execute(
                    "INSERT INTO folders (name, delimiter, attributes) VALUES (?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET delimiter=excluded.delimiter, "
                    "attributes=excluded.attributes",
                    (f.name, f.delimiter, json.dumps(sorted(f.attributes))))

    def folders(self) -> list[Folder]:
        rows = self.db.execute("SELECT name, delimiter, attributes FROM folders").fetchall()
        return [Folder(n, d, frozenset(json.loads(a))) for n, d, a in rows]

    def save_status(self, folder: str, info: MailboxInfo) -> None:
        with self.db:
            self.db.execute(
                "UPDATE folders SET exists_=?, unseen=?, uidnext=? WHERE name=?",
                (info.exists, info.unseen, info.uidnext, folder))

    def status(self, folder: str) -> MailboxInfo | None:
        row = self.db.execute(
            "SELECT exists_, unseen, uidnext, uidvalidity, highestmodseq FROM folders "
            "WHERE name=?", (folder,)).fetchone()
        if row is None:
            return None
        return MailboxInfo(exists=row[0], unseen=row[1], uidnext=row[2], uidvalidity=row[3],
                           highestmodseq=row[4])

    # -- messages ----------------------------------------------------------------

    def save_uids(self, folder: str, uidvalidity: int, uids: list[int],
                  highestmodseq: int = 0) -> None:
        """Record the folder's UID list; drop envelopes of UIDs no longer there."""
        with self.db:
            row = self.db.execute("SELECT uidvalidity FROM folders WHERE name=?",
                                  (folder,)).fetchone()
            if row is None:
                self.db.execute("INSERT INTO folders (name) VALUES (?)", (folder,))
            elif row[0] != uidvalidity:
                self.db.execute("DELETE FROM envelopes WHERE folder=?", (folder,))
            self.db.execute(
                "UPDATE folders SET uidvalidity=?, uids=?, highestmodseq=? WHERE name=?",
                (uidvalidity, json.dumps(uids), highestmodseq, folder))
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (uid INTEGER PRIMARY KEY)")
            self.db.execute("DELETE FROM keep")
            self.db.executemany("INSERT INTO keep VALUES (?)", [(u,) for u in uids])
            self.db.execute("DELETE FROM envelopes WHERE folder=? AND uid NOT IN "
                            "(SELECT uid FROM keep)", (folder,))

    def uids(self, folder: str) -> tuple[int, list[int]]:
        row = self.db.execute("SELECT uidvalidity, uids FROM folders WHERE name=?",
                              (folder,)).fetchone()
        return (row[0], json.loads(row[1])) if row else (0, [])

    def save_envelopes(self, folder: str, envelopes: list[Envelope]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO envelopes (folder, uid, data) VALUES (?, ?, ?)",
                [(folder, e.uid, envelope_to_json(e)) for e in envelopes])
            self.db.executemany(
                "INSERT INTO addresses (email, name, seen) VALUES (?, ?, 1) ON CONFLICT(email) "
                "DO UPDATE SET seen = seen + 1, name = COALESCE(NULLIF(excluded.name, ''), name)",
                [(a.email.lower(), a.name) for e in envelopes
                 for a in (*e.from_, *e.to, *e.cc)])

    def envelopes(self, folder: str, uids: list[int] | None = None) -> dict[int, Envelope]:
        if uids is None:
            rows = self.db.execute("SELECT uid, data FROM envelopes WHERE folder=?",
                                   (folder,)).fetchall()
        else:
            rows = []
            for i in range(0, len(uids), 500):
                chunk = uids[i:i + 500]
                rows += self.db.execute(
                    f"SELECT uid, data FROM envelopes WHERE folder=? AND uid IN "
                    f"({','.join('?' * len(chunk))})", (folder, *chunk)).fetchall()
        return {uid: envelope_from_json(uid, data) for uid, data in rows}

    def forget(self, folder: str, uids: set[int] | list[int]) -> None:
        """Drop expunged messages (QRESYNC VANISHED) from the UID list and the envelopes."""
        if not uids:
            return
        _validity, known = self.uids(folder)
        gone = set(uids)
        with self.db:
            self.db.execute("UPDATE folders SET uids=? WHERE name=?",
                            (json.dumps([u for u in known if u not in gone]), folder))
            self.db.executemany("DELETE FROM envelopes WHERE folder=? AND uid=?",
                                [(folder, u) for u in gone])

    def set_flags(self, folder: str, flags: dict[int, tuple[str, ...]]) -> None:
        cached = self.envelopes(folder, list(flags))
        for uid, env in cached.items():
            env.flags = flags[uid]
        self.save_envelopes(folder, list(cached.values()))

    # -- where the user was ------------------------------------------------------------

    def save_view(self, state: dict[str, object]) -> None:
        """The TUI's folder, sort, cursor...: what it reopens with next time."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO view (key, value) VALUES (?, ?)",
                                [(k, json.dumps(v)) for k, v in state.items()])

    def view(self) -> dict[str, object]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM view")}

    # -- address completion ----------------------------------------------------------

    def complete_address(self, prefix: str, limit: int = 10) -> list[str]:
        """Seen addresses starting with ``prefix`` (in name or address), most seen first."""
        like = prefix.lower().replace("%", r"\%").replace("_", r"\_") + "%"
        rows = self.db.execute(
            "SELECT email, name FROM addresses WHERE email LIKE ? ESCAPE '\\' OR lower(name) "
            "LIKE ? ESCAPE '\\' ORDER BY seen DESC LIMIT ?", (like, like, limit)).fetchall()
        return [str(Address(n or "", e)) for e, n in rows]
