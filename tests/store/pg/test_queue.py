"""The PostgreSQL queue (mailtool.store.pg.queue): the file spool's API, chunked bodies
streamed from the database, claims taken with SKIP LOCKED, and the NOTIFY wake-up."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest

from mailtool.errors import NotFound, StoreError
from mailtool.store.pg import schema
from mailtool.store.pg.db import Database
from mailtool.store.pg.queue import CHUNK, PgQueue
from mailtool.store.queue import RecipientState

MSG = b"Subject: q\r\n\r\nbody\r\n"


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url, pool_size=4, connect_timeout=2)
    schema.init(database)
    yield database
    database.close()


@pytest.fixture
def queue(db: Database) -> PgQueue:
    return PgQueue(db)


def test_enqueue_get_and_state_changes_as_the_spool(queue: PgQueue) -> None:
    entry = queue.enqueue(
        "a@x.test", ["b@y.test", "c@z.test", "b@y.test"], MSG, metadata={"client_ip": "127.0.0.1"}
    )
    assert [r.address for r in entry.recipients] == ["b@y.test", "c@z.test"]
    again = PgQueue(queue.db).get(entry.id)  # another process (node) sees it
    assert again == entry and again.read_message() == MSG and again.message_size == len(MSG)
    assert again.metadata == {"client_ip": "127.0.0.1"}
    assert entry.to_json()["format"] == 2 and "db" not in entry.to_json()
    assert [e.id for e in queue.due(now=0)] == [entry.id]
    queue.mark(entry.id, "b@y.test", "delivered")
    e = queue.mark(entry.id, "c@z.test", "pending", error="451 later", next_attempt=1000.0)
    r = e.recipient("c@z.test")
    assert (r.attempts, r.last_error, r.next_attempt) == (1, "451 later", 1000.0)
    assert queue.due(now=999.0) == [] and [x.id for x in queue.due(now=1000.0)] == [entry.id]
    assert queue.get(entry.id).recipient("b@y.test").status == "delivered"
    queue.update_metadata(entry.id, delay_warned=1.0)
    assert queue.get(entry.id).metadata["delay_warned"] == 1.0
    with pytest.raises(NotFound):
        queue.mark(entry.id, "nobody@y.test", "delivered")
    with pytest.raises(StoreError):
        queue.mark(entry.id, "c@z.test", "lost")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"c@z\.test"):
        queue.remove(entry.id)  # pending: not settled
    queue.reschedule(entry.id, fail="550 5.0.0 by the admin")
    assert queue.get(entry.id).recipient("c@z.test").status == "failed"
    queue.mark(entry.id, "c@z.test", "bounced")
    queue.remove(entry.id)
    assert queue.list() == [] and queue.ids() == []
    with pytest.raises(NotFound):
        queue.get(entry.id)
    with pytest.raises(NotFound):
        queue.remove(entry.id, force=True)
    for bad in ("../etc/passwd", "x", ""):
        with pytest.raises(NotFound):
            queue.get(bad)
    with pytest.raises(StoreError):
        queue.enqueue("a@x.test", [], MSG)


def test_ids_sort_by_arrival_and_states_are_written_with_the_entry(queue: PgQueue) -> None:
    ids = [queue.enqueue("", ["b@y.test"], io.BytesIO(MSG)).id for _ in range(20)]
    assert queue.ids() == ids == sorted(ids)
    done = RecipientState("b@y.test", "delivered", attempts=1)
    entry = queue.enqueue("a@x.test", ["b@y.test", "c@y.test"], MSG, states=[done])
    assert queue.get(entry.id).recipient("b@y.test").status == "delivered"
    with pytest.raises(TypeError):
        queue.enqueue("a@x.test", ["b@y.test"], MSG, metadata={"x": object()})
    assert len(queue.ids()) == 21, "unserialisable metadata writes nothing"


def test_a_big_message_is_chunked_and_streamed_back(queue: PgQueue) -> None:
    big = b"".join(b"%08d" % i + b"x" * 70 + b"\r\n" for i in range(10_000))  # ~800 KB
    entry = queue.enqueue("a@x.test", ["b@y.test"], io.BytesIO(big))
    assert entry.message_size == len(big)
    with queue.db.connection() as conn:
        chunks = conn.execute(
            "SELECT count(*), max(length(data)) FROM queue_chunk WHERE entry_id = %s",
            (entry.id,),
        ).fetchone()
    assert chunks == (-(-len(big) // CHUNK), CHUNK), "stored in CHUNK-byte rows"
    with queue.get(entry.id).open_message() as fh:
        first = fh.read(100)
        rest = fh.read()
    assert first + rest == big
    queue.remove(entry.id, force=True)
    with pytest.raises(NotFound), entry.open_message() as fh:
        fh.read()


def test_two_runners_never_claim_one_entry(db: Database) -> None:
    a, b = PgQueue(db), PgQueue(db)
    a.hold_new("node-a", lease=60)
    b.hold_new("node-b", lease=60)
    writer = PgQueue(db)  # an SMTP worker: unclaimed entries
    ids = {writer.enqueue("s@x.test", ["r@y.test"], MSG).id for _ in range(40)}
    got: dict[str, list[str]] = {"a": [], "b": []}

    def run(name: str, q: PgQueue) -> None:
        while batch := q.claim_due(limit=3, skip=got[name]):
            got[name] += [i for i, _ in batch]

    threads = [threading.Thread(target=run, args=(n, q)) for n, q in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got["a"] + got["b"]) == sorted(ids), "each entry claimed exactly once"
    assert a.claim_due() == [] or all(i in got["a"] for i, _ in a.claim_due())
    assert b.claim_due(limit=100) == [(i, False) for i in sorted(got["b"])], "its own again"


def test_a_dead_nodes_claim_expires_and_a_restart_takes_its_own_back(db: Database) -> None:
    dead = PgQueue(db)
    dead.hold_new("node-a", lease=0.5)
    held = dead.enqueue("s@x.test", ["r@y.test"], MSG)  # claimed at once (delivered here)
    other = PgQueue(db)
    other.hold_new("node-b", lease=60)
    assert other.claim_due() == [], "a live claim is skipped"
    with db.transaction() as conn:  # the lease runs out (as 300 s would)
        conn.execute("UPDATE queue_entry SET claim_until = now() - interval '1 s'")
    assert other.claim_due() == [(held.id, True)], "taken over, flagged interrupted"
    other.release(held.id)
    restarted = PgQueue(db)
    restarted.hold_new("node-b", lease=60)
    other.claim_due()
    assert restarted.claim_due() == [(held.id, True)], "same node, new life: at once"
    assert restarted.renew() == 1
    assert other.renew() == 0


def test_enqueue_of_unclaimed_work_wakes_every_listener(db: Database) -> None:
    runner, writer = PgQueue(db), PgQueue(db)
    woken = threading.Event()
    stop = runner.on_wake(woken.set)
    try:
        runner.hold_new("node-a")
        runner.enqueue("s@x.test", ["r@y.test"], MSG)
        assert not woken.wait(0.3), "a runner's own claimed entry wakes nobody"
        writer.enqueue("s@x.test", ["r@y.test"], MSG)
        assert woken.wait(5)
        woken.clear()
        writer.wake()  # mailtool queue flush
        assert woken.wait(5)
    finally:
        stop()
