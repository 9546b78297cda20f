"""The spool: durable enqueue, per-recipient state, crash recovery, concurrent access."""

from __future__ import annotations

import io
import json
import multiprocessing

import pytest

from mailtool.errors import NotFound, StoreError
from mailtool.store.queue import Queue

MSG = b"Subject: q\r\n\r\nbody\r\n"


@pytest.fixture
def queue(tmp_path):
    return Queue.in_data_dir(tmp_path)


def test_enqueue_writes_message_and_envelope(queue):
    entry = queue.enqueue(
        "a@x.test", ["b@y.test", "c@z.test", "b@y.test"], MSG, metadata={"client_ip": "127.0.0.1"}
    )
    assert entry.read_message() == MSG
    env = json.loads((queue.path / f"{entry.id}.json").read_text())
    assert env["sender"] == "a@x.test"
    assert [r["address"] for r in env["recipients"]] == ["b@y.test", "c@z.test"]
    assert {r["status"] for r in env["recipients"]} == {"pending"}
    assert env["metadata"] == {"client_ip": "127.0.0.1"}
    assert queue.get(entry.id) == entry
    assert list((queue.path / "tmp").iterdir()) == []


def test_ids_are_unique_sortable_and_file_safe(queue):
    ids = [queue.enqueue("", ["b@y.test"], io.BytesIO(MSG)).id for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert all(i.replace("-", "").isalnum() for i in ids)
    assert queue.ids() == ids
    for bad in ("../etc/passwd", "x", ""):
        with pytest.raises(NotFound):
            queue.get(bad)


def test_mark_records_attempts_and_due_follows_next_attempt(queue):
    entry = queue.enqueue("a@x.test", ["b@y.test", "c@z.test"], MSG)
    assert [e.id for e in queue.due(now=0)] == [entry.id]
    queue.mark(entry.id, "b@y.test", "delivered")
    e = queue.mark(entry.id, "c@z.test", "pending", error="451 try later", next_attempt=1000.0)
    r = e.recipient("c@z.test")
    assert (r.attempts, r.last_error, r.next_attempt) == (1, "451 try later", 1000.0)
    assert queue.due(now=999.0) == []
    assert [e.id for e in queue.due(now=1000.0)] == [entry.id]
    assert queue.get(entry.id).recipient("b@y.test").status == "delivered", "durable"
    with pytest.raises(NotFound):
        queue.mark(entry.id, "nobody@y.test", "delivered")
    with pytest.raises(StoreError):
        queue.mark(entry.id, "c@z.test", "lost")  # type: ignore[arg-type]


def test_remove_only_when_settled(queue):
    entry = queue.enqueue("a@x.test", ["b@y.test", "c@z.test"], MSG)
    queue.mark(entry.id, "b@y.test", "delivered")
    queue.mark(entry.id, "c@z.test", "failed", error="550 no such user")
    with pytest.raises(StoreError, match=r"c@z\.test"):
        queue.remove(entry.id)  # failed still owes the sender a bounce
    queue.mark(entry.id, "c@z.test", "bounced")
    queue.remove(entry.id)
    assert queue.list() == []
    assert not entry.message_path.exists()
    other = queue.enqueue("a@x.test", ["b@y.test"], MSG)
    queue.remove(other.id, force=True)
    with pytest.raises(NotFound):
        queue.get(other.id)


def test_recovery_after_simulated_crashes(queue):
    kept = queue.enqueue("a@x.test", ["b@y.test"], MSG)
    # crash mid-write: a tmp file; crash between message and envelope: an orphan message
    (queue.tmp / "0000000000000001-abcdef01.msg.1234").write_bytes(b"Subj")
    orphan = queue.path / "0000000000000002-abcdef02.msg"
    orphan.write_bytes(MSG)
    assert queue.ids() == [kept.id], "an orphan message is not an entry"
    removed = queue.recover()
    assert removed == ["0000000000000002-abcdef02.msg", "tmp/0000000000000001-abcdef01.msg.1234"]
    assert not orphan.exists()
    assert queue.get(kept.id).read_message() == MSG, "complete entries survive recovery"


def test_unserialisable_metadata_writes_nothing(queue):
    with pytest.raises(TypeError):
        queue.enqueue("a@x.test", ["b@y.test"], MSG, metadata={"x": object()})
    assert list(queue.path.glob("*.msg")) == []


def _mark_all(path, entry_ids, address):
    q = Queue(path)
    for entry_id in entry_ids:
        q.mark(entry_id, address, "delivered")


def test_concurrent_marks_from_processes_lose_no_update(queue):
    rcpts = [f"r{i}@y.test" for i in range(4)]
    ids = [queue.enqueue("a@x.test", rcpts, MSG).id for _ in range(10)]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_mark_all, args=(queue.path, ids, r)) for r in rcpts]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    for entry in queue.list():
        assert entry.settled, entry
