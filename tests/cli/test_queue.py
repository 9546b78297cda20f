"""``mailtool queue``: the spool as an admin sees and steers it (CliRunner on a real
spool; that a running server acts on flush/retry/bounce is in tests/mta/test_relay_*)."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.store.queue import Queue

MESSAGE = b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: stuck\r\n\r\nthe body\r\n"


@pytest.fixture
def spool(tmp_path):
    queue = Queue.in_data_dir(tmp_path)
    entry = queue.enqueue(
        "alice@a.test",
        ["bob@b.test", "carol@c.test"],
        MESSAGE,
        metadata={"local": [], "remote": ["bob@b.test", "carol@c.test"]},
    )
    queue.mark(
        entry.id,
        "bob@b.test",
        "pending",
        error="451 4.4.1 cannot connect (from mx.b)",
        next_attempt=time.time() + 3600,
    )
    queue.mark(entry.id, "carol@c.test", "delivered", error="250 2.0.0 ok")
    return queue, entry.id


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str):
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "queue", *args])
        return result

    return invoke


def test_list_json_and_table(spool, run):
    _, qid = spool
    data = json.loads(run("list", "--json").output)
    assert [e["id"] for e in data] == [qid]
    (bob, carol) = data[0]["recipients"]
    assert bob["status"] == "pending" and bob["attempts"] == 1 and "4.4.1" in bob["last_error"]
    assert carol["status"] == "delivered" and data[0]["size"] == len(MESSAGE)
    table = run("list").output
    assert qid in table and "bob@b.test" in table and "next in" in table


def test_show_prints_envelope_and_header_only(spool, run):
    _, qid = spool
    out = run("show", qid).output
    assert "sender:  alice@a.test" in out and "Subject: stuck" in out
    assert "the body" not in out and "the body" in run("show", qid, "--body").output
    missing = run("show", "0000000000000000-00000000")
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_retry_and_flush_make_it_due_now_and_wake_the_server(spool, run):
    queue, qid = spool
    assert not queue.due()
    assert run("retry", qid).exit_code == 0
    (entry,) = queue.due()
    assert entry.recipient("bob@b.test").attempts == 1  # a retry is not an attempt
    assert (queue.path / ".wake").exists()
    queue.mark(qid, "bob@b.test", "pending", next_attempt=time.time() + 3600)
    assert "flushed 1" in run("flush").output and queue.due()


def test_bounce_marks_what_is_left_failed_for_the_runner(spool, run):
    queue, qid = spool
    assert run("bounce", qid).exit_code == 0
    entry = queue.get(qid)
    assert entry.recipient("bob@b.test").status == "failed"  # the runner sends the DSN
    assert "administrator" in entry.recipient("bob@b.test").last_error
    assert entry.recipient("carol@c.test").status == "delivered"  # delivered stays so


def test_delete_removes_without_a_trace(spool, run):
    queue, qid = spool
    assert run("delete", qid).exit_code == 0
    assert queue.ids() == [] and not list(queue.path.glob("*.q"))
    assert not list(queue.path.glob("*.state"))
