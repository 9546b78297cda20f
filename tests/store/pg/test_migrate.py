"""``mailtool store migrate``: a data dir into PostgreSQL (issue 17 point 6).

One data dir is made for the module (users, an alias, a quota, folders with flags and
keywords, expunged UIDs, METADATA, Sieve scripts, a DKIM key, queue entries with recipient
states), and an IMAP client syncs with QRESYNC against the SQLite server before the move.
Each test migrates it into a fresh database of the session's PostgreSQL cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.mra.imap.wireclient import Wire

PASSWORD = "migrate-secret"
ANN, BOB = "ann@a.test", "bob@b.test"
SIEVE = 'require "fileinto";\nif header :contains "subject" "report" { fileinto "Reports"; }\n'
IMAP_CONFIG = {"security": {"plaintext_auth_on_loopback": True}}


def message(n: int, size: int = 300) -> bytes:
    body = (f"line {n} " * (size // 8)).encode()
    return (f"From: x{n}@c.test\r\nTo: {ANN}\r\nSubject: message {n}\r\n"
            f"Message-ID: <{n}.migrate@c.test>\r\n\r\n").encode() + body + b"\r\n"


def append(w: Wire, folder: str, flags: str, data: bytes) -> None:
    reply = w.cmd(f"APPEND {folder} ({flags}) {{{len(data)}+}}\r\n".encode() + data)
    assert reply.status == "OK", reply


def select_state(w: Wire, folder: str, qresync: str = "") -> tuple[dict[str, int], Any]:
    """(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ of the SELECT, the reply)."""
    reply = w.cmd(f"SELECT {folder}{qresync}")
    assert reply.status == "OK", reply
    state = {}
    for key in (b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"):
        line = reply.lines(b"* OK [" + key)[0]
        state[key.decode()] = int(line.split()[3].rstrip(b"]"))
    return state, reply


def listing(w: Wire, folder: str) -> list[bytes]:
    """Every message's UID, FLAGS, INTERNALDATE, size and MODSEQ, as the server says them."""
    w.cmd(f"EXAMINE {folder}")
    reply = w.cmd("UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ)")
    assert reply.status == "OK", reply
    return sorted(re.sub(rb"^\* \d+ ", b"", line) for line in reply.untagged if b"FETCH" in line)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The SQLite server's data dir after an IMAP session made its mail; the client's
    QRESYNC state and the listing of each folder, taken before the move."""
    from mailtool.mta.authn.keys import generate
    from mailtool.store.accounts import AccountStore, Quota
    from mailtool.store.mailstore import MailStore
    from mailtool.store.queue import Queue, RecipientState
    from mailtool.store.sieve_scripts import SieveScripts

    server = MailtoolServer(tmp_path_factory.mktemp("migrate") / "sqlite", services=("imap",),
                            config=IMAP_CONFIG)
    server.workdir.mkdir(parents=True)
    accounts = AccountStore(server.data_dir / "accounts.db")
    for domain in ("a.test", "b.test"):
        accounts.add_domain(domain)
    accounts.add_user(ANN, PASSWORD)
    accounts.add_user(BOB, PASSWORD, quota=Quota(storage_bytes=10_000_000, messages=500))
    accounts.add_alias("team@a.test", [ANN, BOB])
    mock_salt = accounts.scram_mock_salt("nobody@a.test")  # makes the secret file
    accounts.close()
    mail = MailStore(server.data_dir).user(BOB)
    for n in range(5):
        mail.deliver(message(100 + n), flags=("\\Seen",) if n % 2 else ())
    mail.folder("INBOX").store([2], ["\\Deleted"])
    assert mail.folder("INBOX").expunge([2]) == [2]  # UID 2 is never given again
    scripts = SieveScripts(server.data_dir)
    scripts.put(ANN, "main", SIEVE)
    scripts.put(ANN, "spare", "keep;\n")
    scripts.activate(ANN, "main")
    scripts.set_setting(ANN, "promotions", False)
    scripts.set_global('require "fileinto";\n')
    scripts.set_global_include("spam", "keep;\n")
    generate(server.data_dir, "a.test", "s2026", "ed25519")
    queue = Queue(server.data_dir / "queue")
    queue.enqueue("ann@a.test", ["far@remote.test", "near@remote.test"], message(900),
                  metadata={"client_ip": "192.0.2.7"},
                  states=[RecipientState("near@remote.test", "delivered", 1)])
    entry = queue.enqueue("", ["back@remote.test"], message(901))
    queue.mark(entry.id, "back@remote.test", "pending", error="451 try later",
               next_attempt=2_000_000_000.0)

    server.start()
    try:
        w = Wire(server.port("imap"))
        assert w.login(ANN, PASSWORD).status == "OK"
        assert w.cmd("CREATE Projects/2026").status == "OK"
        for n in range(12):
            flags = ["\\Seen", "\\Flagged $Label1", "Work \\Answered", ""][n % 4]
            append(w, "INBOX" if n < 8 else "Projects/2026", flags, message(n))
        w.cmd("SELECT INBOX")
        w.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
        w.cmd("EXPUNGE")
        w.cmd("STORE 1:2 +FLAGS.SILENT (Later)")
        assert w.cmd('SETMETADATA INBOX (/private/comment "before the move")').status == "OK"
        assert w.cmd("ENABLE QRESYNC").status == "OK"
        before = {}
        for folder in ("INBOX", "Projects/2026"):
            before[folder] = (select_state(w, folder)[0], listing(w, folder))
        w.cmd("LOGOUT")
        w.close()
    finally:
        assert server.stop() == 0, server.log()
    yield {"server": server, "before": before, "mock_salt": mock_salt}


def migrate_cli(server: MailtoolServer, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = server.cli("store", "migrate", "--to", url, "--json", "--no-progress", *extra,
                        check=False)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_migrate_keeps_every_number_and_a_synced_client_fetches_nothing(
    data_dir: dict[str, Any], postgres_url: str, tmp_path: Path
) -> None:
    from mailtool.config import load
    from mailtool.store.backends import Stores
    from mailtool.store.pg.migrate import target_config

    code, report = migrate_cli(data_dir["server"], postgres_url)
    assert code == 0 and report["ok"], report
    copied = report["copied"]
    assert copied["users"]["copied"] == 2
    assert copied["aliases"]["copied"] == 2
    assert copied["sieve_scripts"]["copied"] == 2
    assert copied["sieve_global"]["copied"] == 2  # the global script and one :global include
    assert copied["dkim_keys"]["copied"] == 1
    assert copied["queue_entries"]["copied"] == 2
    assert copied["metadata_entries"]["copied"] == 1
    assert report["mail"]["messages_copied"] == 11 + 4  # ann: 7 + 4, bob: 4
    assert all(f["ok"] for f in report["folders"])

    node = MailtoolServer(tmp_path / "pg", services=("imap",),
                          config={**IMAP_CONFIG, "store": {"url": postgres_url}})
    with node:
        w = Wire(node.port("imap"))
        assert w.login(ANN, PASSWORD).status == "OK"  # the argon2id hash came as it was
        assert w.cmd("ENABLE QRESYNC").status == "OK"
        for folder, (state, fetched) in data_dir["before"].items():
            qresync = f" (QRESYNC ({state['UIDVALIDITY']} {state['HIGHESTMODSEQ']}))"
            after, reply = select_state(w, folder, qresync)
            assert after == state  # same UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
            # RFC 7162 §3.2.5: in sync -> no FETCH and no VANISHED in the SELECT
            assert not [line for line in reply.untagged
                        if b"FETCH" in line or b"VANISHED" in line], reply.untagged
            assert listing(w, folder) == fetched  # flags, keywords, dates, sizes, MODSEQs
        reply = w.cmd("GETMETADATA INBOX /private/comment")
        assert b"before the move" in b"".join(reply.untagged), reply
        w.close()
        scripts = json.loads(node.cli("sieve", "list", ANN, "--json").stdout)
        assert {s["name"]: s["active"] for s in scripts} == {"main": True, "spare": False}
        queued = json.loads(node.cli("queue", "list", "--json").stdout)
        states = {r["address"]: (r["status"], r["attempts"], r["last_error"])
                  for e in queued for r in e["recipients"]}
        assert states == {"far@remote.test": ("pending", 0, None),
                          "near@remote.test": ("delivered", 1, None),
                          "back@remote.test": ("pending", 1, "451 try later")}
    stores = Stores(target_config(load(data_dir["server"].config_path), postgres_url))
    try:
        sieve = stores.sieve_scripts
        assert sieve.settings(ANN) == {"promotions": False}
        assert sieve.global_script() == 'require "fileinto";\n'
        assert sieve.global_include("spam") == "keep;\n"
        assert [k[0] for k in stores.dkim_keys.private_keys("a.test")] == ["s2026"]
        # a name that is nobody's shows the salt it showed before the move (RFC 5802 §9)
        assert stores.accounts.scram_mock_salt("nobody@a.test") == data_dir["mock_salt"]
    finally:
        stores.close()


class Interrupt(Exception):
    pass


def test_an_interrupted_migration_finishes_on_the_second_run(
    data_dir: dict[str, Any], postgres_url: str
) -> None:
    from mailtool.config import load
    from mailtool.store.pg.migrate import Progress, migrate

    class StopAfter(Progress):
        def __init__(self, messages: int) -> None:
            self.left = messages

        def advance(self, messages: int, nbytes: int) -> None:
            self.left -= messages
            if self.left <= 0:
                raise Interrupt("^C")

    config = load(data_dir["server"].config_path)
    with pytest.raises(Interrupt):
        migrate(config, postgres_url, progress=StopAfter(6))
    report = migrate(config, postgres_url)
    assert report.ok, report.to_json()
    assert report.mail.messages_copied + report.mail.messages_skipped == 15
    assert report.mail.messages_skipped == 6  # the first run's, each committed whole
    assert report.count("users").skipped == 2
    third = migrate(config, postgres_url)  # nothing left to do, nothing doubled
    assert third.ok and third.mail.messages_copied == 0
    assert {f.folder: f.target_messages for f in third.folders if f.user == ANN} == {
        f.folder: f.source_messages for f in third.folders if f.user == ANN
    }


def test_a_mismatch_exits_1(data_dir: dict[str, Any], postgres_url: str) -> None:
    """The check compares with the target as it is: a message removed there after the
    copy shows as a MISMATCH row and exit 1."""
    from mailtool.config import load
    from mailtool.store.backends import Stores
    from mailtool.store.pg.migrate import target_config

    server = data_dir["server"]
    code, _ = migrate_cli(server, postgres_url)
    assert code == 0
    stores = Stores(target_config(load(server.config_path), postgres_url))
    try:
        inbox = stores.mail.user(BOB).folder("INBOX")
        first = inbox.messages()[0].uid
        inbox.store([first], ["\\Deleted"])
        assert inbox.expunge([first]) == [first]
    finally:
        stores.close()
    result = server.cli("store", "migrate", "--to", postgres_url, "--no-progress", check=False)
    assert result.returncode == 1
    assert "MISMATCH" in result.stdout and "COUNTS DIFFER" in result.stdout
