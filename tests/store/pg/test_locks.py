"""Advisory locks across nodes (mailtool.store.pg.locks): POP3's maildrop lock on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailtool.store.pg.db import Database
from mailtool.store.pg.locks import AdvisoryLocks


@pytest.fixture
def two_nodes(postgres_url: str) -> Iterator[tuple[AdvisoryLocks, AdvisoryLocks]]:
    dbs = [Database(postgres_url, pool_size=1, connect_timeout=2) for _ in range(2)]
    locks = [AdvisoryLocks(db) for db in dbs]
    yield locks[0], locks[1]
    for lock, db in zip(locks, dbs, strict=True):
        lock.close()
        db.close()


def test_one_holder_across_nodes_and_within_one(two_nodes: tuple[AdvisoryLocks, ...]) -> None:
    a, b = two_nodes
    held = a.maildrop("alice@a.test")
    assert held is not None
    assert b.maildrop("alice@a.test") is None  # another node
    assert a.maildrop("alice@a.test") is None  # another session on the same node
    other = b.maildrop("bob@a.test")  # another user's maildrop is free
    assert other is not None
    held.release()
    held.release()  # idempotent
    again = b.maildrop("alice@a.test")
    assert again is not None
    again.release()
    other.release()


def test_a_dead_node_releases_its_locks(two_nodes: tuple[AdvisoryLocks, ...]) -> None:
    a, b = two_nodes
    assert a.maildrop("alice@a.test") is not None
    a.close()  # the node's lock connection closes, as when the process dies
    got = b.maildrop("alice@a.test")
    assert got is not None
    got.release()


def test_the_locks_are_taken_back_after_a_lost_connection(two_nodes: tuple[AdvisoryLocks, ...],
                                                          postgres_url: str) -> None:  # fmt: skip
    import psycopg

    a, b = two_nodes
    held = a.maildrop("alice@a.test")
    assert held is not None
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # cut a's lock connection
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE pid <> pg_backend_pid() AND datname = current_database()")  # fmt: skip
    # a's next call notices, connects again and takes back what its sessions still hold
    assert a.maildrop("bob@a.test") is not None
    assert b.maildrop("alice@a.test") is None
    held.release()
    assert b.maildrop("alice@a.test") is not None
