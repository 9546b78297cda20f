"""The small shared state on PostgreSQL as a cluster sees it: DKIM keys every node signs
with, and the database down surfacing as StoreUnavailable from every shared-state class.

(The same tests as the SQLite twins run on PostgreSQL from their own modules:
tests/store/test_sieve_scripts.py, test_metadata.py, tests/mta/authn/test_cli_dkim.py,
test_mtasts.py, test_tlsrpt.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailtool.errors import AlreadyExists, StoreUnavailable
from mailtool.mta.authn import keys
from mailtool.mta.authn.dkim_sign import DkimSigner
from mailtool.store.pg.caches import PgPolicyCache, PgReportLog
from mailtool.store.pg.db import Database
from mailtool.store.pg.dkim_keys import PgDkimKeys
from mailtool.store.pg.metadata import PgMetadata
from mailtool.store.pg.sieve_scripts import PgSieveScripts
from tests.peers import free_port

MESSAGE = b"From: a@k.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n"


def test_a_key_made_on_one_node_signs_on_every_node(pg_database: Database) -> None:
    other = Database(pg_database.url, pool_size=1)  # another node
    try:
        made = keys.generate(PgDkimKeys(pg_database), "K.test", "ed", "ed25519")
        with pytest.raises(AlreadyExists, match="never replaced"):
            keys.generate(PgDkimKeys(other), "k.test", "ed", "ed25519")
        [seen] = keys.load_keys(PgDkimKeys(other), "k.test")
        assert (seen.selector, seen.private_pem, seen.txt_record()) == (
            "ed", made.private_pem, made.txt_record()
        )
        assert keys.all_domains(PgDkimKeys(other)) == ["k.test"]
        signed = asyncio.run(DkimSigner(PgDkimKeys(other)).sign(MESSAGE))
        assert signed.startswith(b"DKIM-Signature:") and b"d=k.test" in signed
    finally:
        other.close()


@pytest.fixture
def gone() -> Iterator[Database]:
    """A database that is not there (nothing listens on its port)."""
    db = Database(f"postgresql://mailtool@127.0.0.1:{free_port()}/none", connect_timeout=1)
    yield db
    db.close()


CALLS: list[tuple[str, Callable[[Database], Any]]] = [
    ("sieve list", lambda db: PgSieveScripts(db).list("a@a.test")),
    ("sieve filters", lambda db: PgSieveScripts(db).user_filters("a@a.test")),
    ("vacation", lambda db: PgSieveScripts(db).vacation_memory("a@a.test").should_reply(
        "b@b.test", "h", 1, 0.0)),
    ("metadata", lambda db: PgMetadata(db, "a@a.test").set("", [("/private/x", b"1")])),
    ("dkim", lambda db: keys.load_keys(PgDkimKeys(db), "a.test")),
    ("mta-sts", lambda db: PgPolicyCache(db).load("a.test")),
    ("tls-rpt", lambda db: PgReportLog(db).days()),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[n for n, _ in CALLS])
def test_the_database_down_is_store_unavailable(gone: Database, call: Callable[..., Any]) -> None:
    with pytest.raises(StoreUnavailable, match=r"unavailable|did not answer"):
        call(gone)
