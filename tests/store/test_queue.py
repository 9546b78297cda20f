"""The spool: durable enqueue, per-recipient state, crash recovery, concurrent access."""

from __future__ import annotations

import io
import json
import multiprocessing
import time

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
    # one file: the envelope line, then the message byte for byte
    raw = (queue.path / f"{entry.id}.q").read_bytes()
    line, _, rest = raw.partition(b"\n")
    assert rest == MSG and entry.message_size == len(MSG)
    env = json.loads(line.split(b" ", 1)[1])
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
    # crash mid-write: a tmp file; crash in a removal: a state file without its entry
    (queue.tmp / "0000000000000001-abcdef01.q.1234").write_bytes(b"MTQ2 {")
    orphan = queue.path / "0000000000000002-abcdef02.state"
    orphan.write_text("{}")
    assert queue.ids() == [kept.id], "a state file alone is not an entry"
    removed = queue.recover()
    assert removed == ["0000000000000002-abcdef02.state", "tmp/0000000000000001-abcdef01.q.1234"]
    assert not orphan.exists()
    assert queue.get(kept.id).read_message() == MSG, "complete entries survive recovery"


def test_state_changes_live_in_a_state_file_until_removal(queue):
    entry = queue.enqueue("a@x.test", ["b@y.test", "c@z.test"], MSG)
    state = queue.path / f"{entry.id}.state"
    assert not state.exists(), "no state file until a recipient's state changes"
    queue.mark(entry.id, "b@y.test", "delivered")
    assert json.loads(state.read_text())["recipients"][0]["status"] == "delivered"
    again = Queue(queue.path).get(entry.id)  # another process sees the new state
    assert again.recipient("b@y.test").status == "delivered"
    assert again.read_message() == MSG
    queue.update_metadata(entry.id, delay_warned=1.0)
    assert queue.get(entry.id).metadata["delay_warned"] == 1.0
    queue.remove(entry.id, force=True)
    assert not state.exists() and queue.ids() == []
    with pytest.raises(NotFound):
        queue.remove(entry.id, force=True)


def test_entries_of_the_two_file_layout_are_converted_at_recovery(queue):
    entry_id = "0000000000000003-abcdef03"
    envelope = {
        "id": entry_id, "sender": "a@x.test", "created": 1.0, "metadata": {"trace_id": "T1"},
        "recipients": [{"address": "b@y.test", "status": "pending", "attempts": 2,
                        "last_error": "451 later", "next_attempt": 5.0}],
        "format": 1,
    }  # fmt: skip
    (queue.path / f"{entry_id}.msg").write_bytes(MSG)
    (queue.path / f"{entry_id}.json").write_text(json.dumps(envelope))
    (queue.path / "0000000000000004-abcdef04.msg").write_bytes(MSG)  # enqueue cut short
    assert queue.recover() == ["0000000000000004-abcdef04.msg"]
    assert sorted(p.name for p in queue.path.glob("0*")) == [f"{entry_id}.q"]
    entry = queue.get(entry_id)
    assert entry.read_message() == MSG and entry.metadata == {"trace_id": "T1"}
    assert entry.recipient("b@y.test").attempts == 2


def test_concurrent_enqueues_share_directory_fsyncs(queue, monkeypatch):
    import threading

    from mailtool.store import groupsync

    calls = []
    real = groupsync.fsync_dir_now
    gate = threading.Event()

    def slow_fsync(path):
        calls.append(path)
        gate.wait(5)  # the first fsync is still running while the others arrive
        real(path)

    monkeypatch.setattr(groupsync, "fsync_dir_now", slow_fsync)
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(queue.enqueue("", ["b@y.test"], MSG).id))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    while len(list(queue.path.glob("*.q"))) < 8:
        time.sleep(0.01)  # every file renamed in: one writer fsyncs, seven wait for it
    gate.set()
    for t in threads:
        t.join(10)
    assert len(ids) == 8 and sorted(ids) == queue.ids()
    assert len(calls) == 2, "the seven that waited were made durable by one fsync"


def test_unserialisable_metadata_writes_nothing(queue):
    with pytest.raises(TypeError):
        queue.enqueue("a@x.test", ["b@y.test"], MSG, metadata={"x": object()})
    assert list(queue.path.glob("*.q")) == [] and list(queue.tmp.iterdir()) == []


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


def test_enqueue_with_known_states_writes_them_in_the_entry(queue):
    from mailtool.store.queue import RecipientState

    done = RecipientState("b@y.test", "delivered", attempts=1)
    later = RecipientState("c@z.test", "pending", 1, "452 4.2.2 full", time.time() + 60)
    entry = queue.enqueue("a@x.test", ["b@y.test", "c@z.test"], MSG, states=[done, later])
    again = queue.get(entry.id)
    assert again.recipient("b@y.test") == done and again.recipient("c@z.test") == later
    assert again.pending(time.time()) == [] and not (queue.path / f"{entry.id}.state").exists()


def test_interrupted_deliveries_are_named_to_the_next_process_only(tmp_path):
    first = Queue.in_data_dir(tmp_path)
    with first.delivering(["a@x.test", "b@x.test"]):
        pass
    with first.delivering(["c@x.test"]):
        # the process dies in here: the next start reads the slot, this process never
        assert first.interrupted_deliveries() == []
        second = Queue.in_data_dir(tmp_path)
        assert second.interrupted_deliveries() == ["c@x.test"]
        assert second.interrupted_deliveries() == []  # read once: the slot file is gone
