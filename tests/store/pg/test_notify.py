"""The PostgreSQL change bus (mailtool.store.pg.notify): LISTEN/NOTIFY between processes.

Two buses on one database stand for two serve nodes: what one publishes inside a
transaction reaches the other's subscribers after the COMMIT, only then, and never its
own; a database restart is survived and announced to every subscriber.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from typing import Any

import pytest

from mailtool.store.mailstore import Change
from mailtool.store.pg.db import Database
from mailtool.store.pg.notify import EVERYTHING, MAX_PAYLOAD, ChangeBus, decode, encode

WAIT = 5.0  # generous: a notice arrives in milliseconds


def _db(url: str) -> Database:
    return Database(url, pool_size=2, connect_timeout=2)


@pytest.fixture
def nodes(postgres_url: str) -> Iterator[tuple[Database, ChangeBus, ChangeBus]]:
    """A writer's bus and a listener's bus on one database (two nodes)."""
    db = _db(postgres_url)
    writer, listener = ChangeBus(db), ChangeBus(db)
    yield db, writer, listener
    writer.close()
    listener.close()
    db.close()


def _subscribe(bus: ChangeBus, user: str) -> queue.Queue[Change]:
    got: queue.Queue[Change] = queue.Queue()
    bus.subscribe(user, got.put)
    return got


def test_a_committed_change_reaches_the_other_node(nodes: Any) -> None:
    db, writer, listener = nodes
    got = _subscribe(listener, "alice@a.test")
    other = _subscribe(listener, "bob@a.test")
    with db.transaction() as conn:
        writer.publish(conn, "alice@a.test", "INBOX", "append", uids=[7, 8], modseq=42)
    assert got.get(timeout=WAIT) == Change("INBOX", "append", (7, 8), 42)
    with db.transaction() as conn:  # a later one for bob: alice's subscriber is not called
        writer.publish(conn, "bob@a.test", "Sent", "flags", uids=[1], modseq=3)
    assert other.get(timeout=WAIT) == Change("Sent", "flags", (1,), 3)
    assert got.empty()


def test_nothing_is_sent_before_the_commit_nor_after_a_rollback(nodes: Any) -> None:
    db, writer, listener = nodes
    got = _subscribe(listener, "alice@a.test")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        writer.publish(conn, "alice@a.test", "INBOX", "append", uids=[1], modseq=1)
        raise RuntimeError("the writer failed")
    with db.transaction() as conn:
        writer.publish(conn, "alice@a.test", "INBOX", "append", uids=[2], modseq=2)
        with pytest.raises(queue.Empty):  # still inside the transaction: nothing yet
            got.get(timeout=0.3)
    assert got.get(timeout=WAIT).uids == (2,)  # the rolled-back one never came
    assert got.empty()


def test_a_bus_does_not_hand_back_its_own_notices(nodes: Any) -> None:
    db, writer, listener = nodes
    own = _subscribe(writer, "alice@a.test")
    other = _subscribe(listener, "alice@a.test")
    with db.transaction() as conn:
        writer.publish(conn, "alice@a.test", "INBOX", "expunge", uids=[3], modseq=9)
    assert other.get(timeout=WAIT).kind == "expunge"
    with db.transaction() as conn:  # ordering: once the next one arrives, the first is gone
        listener.publish(conn, "alice@a.test", "INBOX", "flags", uids=[4], modseq=10)
    assert own.get(timeout=WAIT) == Change("INBOX", "flags", (4,), 10)
    assert own.empty()


def test_unsubscribe_stops_the_calls(nodes: Any) -> None:
    db, writer, listener = nodes
    got: queue.Queue[Change] = queue.Queue()
    stop = listener.subscribe("alice@a.test", got.put)
    marker = _subscribe(listener, "alice@a.test")
    stop()
    with db.transaction() as conn:
        writer.publish(conn, "alice@a.test", "INBOX", "append", uids=[1], modseq=1)
    marker.get(timeout=WAIT)
    assert got.empty()


def test_many_uids_become_an_external_change_under_the_payload_limit(nodes: Any) -> None:
    db, writer, listener = nodes
    got = _subscribe(listener, "alice@a.test")
    with db.transaction() as conn:  # PostgreSQL itself refuses a payload of 8000 bytes
        writer.publish(conn, "alice@a.test", "INBOX", "expunge", uids=range(1, 5001), modseq=77)
    assert got.get(timeout=WAIT) == Change("INBOX", "external", (), 77)


def test_the_payload_is_bounded_whatever_the_arguments() -> None:
    payload = encode("o", "alice@a.test", "x" * 20000, "append", range(10000), 5)
    assert len(payload.encode()) <= MAX_PAYLOAD
    assert decode(payload) == ("o", "alice@a.test", Change("", "external", (), 0))
    assert decode("not json") is None
    assert decode(json.dumps({"o": "x"})) is None


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[Any]:
    """A cluster of this module's own: the restart test must not disturb the shared one."""
    from tests.peers.postgres import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.cleanup()


def test_the_bus_listens_again_after_a_database_restart(private_cluster: Any) -> None:
    db = _db(private_cluster.create_database())
    writer, listener = ChangeBus(db), ChangeBus(db)
    try:
        got = _subscribe(listener, "alice@a.test")
        assert listener.listening
        private_cluster.restart(down=0.5)
        # what was committed while the bus was deaf was never announced: everyone looks
        assert got.get(timeout=WAIT + 5) == EVERYTHING
        assert listener.listening and listener.reconnects == 1
        with db.transaction() as conn:
            writer.publish(conn, "alice@a.test", "INBOX", "append", uids=[1], modseq=2)
        assert got.get(timeout=WAIT) == Change("INBOX", "append", (1,), 2)
    finally:
        writer.close()
        listener.close()
        db.close()
