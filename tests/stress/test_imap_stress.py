"""The multi-client IMAP stress run with state tracking (issue 16 point 18), against
mailtool and against Dovecot (which validates the model: a correct server passes).

``make test`` runs it briefly (STRESS_SECONDS, default 12 s, STRESS_CLIENTS, default
10); ``make stress`` runs it longer. STRESS_SEED replays a run's choices. The model's
checks themselves are tested below on hand-made responses: each can fail.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import MailtoolServer
from tests.mra.imap.conftest import add_user
from tests.mra.stores import close_stores
from tests.peers.dovecot import Dovecot
from tests.stress.imap_stress import Client, Shared, StressResult, run_stress

CLIENTS = int(os.environ.get("STRESS_CLIENTS", "10"))
SECONDS = float(os.environ.get("STRESS_SECONDS", "12"))
SEED = int(os.environ["STRESS_SEED"]) if os.environ.get("STRESS_SEED") else None
PASSWORD = "stress-pw"


def _run(port: int, user: str) -> StressResult:
    result = asyncio.run(
        run_stress("127.0.0.1", port, user, PASSWORD, clients=CLIENTS, seconds=SECONDS, seed=SEED)
    )
    print(result.summary())  # the seed, to replay a failure with STRESS_SEED
    assert result.logins >= CLIENTS and result.operations > CLIENTS, result.summary()
    return result


def test_stress_mailtool(mailtool_server: Callable[..., MailtoolServer]) -> None:
    server = mailtool_server(  # on each store backend (MAILTOOL_STORE_BACKENDS)
        services=("imap",), config={"security": {"plaintext_auth_on_loopback": True}}
    )
    try:
        add_user(server, "stress@example.test", PASSWORD)
        result = _run(server.port("imap"), "stress@example.test")
    finally:
        close_stores(server)
        assert server.stop() == 0, server.log()
    assert result.error_count == 0, "\n".join([result.summary(), *result.errors])
    assert "imap.crash" not in server.log()


@pytest.mark.peer
def test_stress_dovecot(tmp_path: Path) -> None:
    # stock Dovecot allows 10 connections per user and IP (BENCHMARKING.md)
    extra = "mail_max_userip_connections = 1000\n"
    with Dovecot(tmp_path / "dc", users={"stress": PASSWORD}, pop3=False, extra_config=extra) as dc:
        result = _run(dc.imap_port, "stress")
    assert result.error_count == 0, "\n".join([result.summary(), *result.errors])


# -- the model's checks, on hand-made responses --------------------------------------


def _client(*untagged: str) -> tuple[Client, Shared]:
    shared = Shared()
    c = Client(0, "127.0.0.1", 0, "u", "p", shared, random.Random(0))
    c._reset("Stress1")
    for line in untagged:
        c.untagged(line)
    return c, shared


def test_model_follows_exists_fetch_and_expunge() -> None:
    c, shared = _client(
        "* 3 EXISTS",
        "* 1 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (7))",
        "* 3 FETCH (UID 9 FLAGS () MODSEQ (8))",
        "* 2 EXPUNGE",
        "* 2 FETCH (UID 9 FLAGS (\\Flagged) MODSEQ (9))",
        "* 3 EXISTS",
    )
    assert shared.errors == [] and c.seq == [4, 9, None]
    assert c.state[9] == (frozenset({"\\Flagged"}), 9)


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        (["* 2 EXISTS", "* 3 FETCH (FLAGS ())"], "FETCH 3 outside 1..2"),  # class 12
        (["* 2 EXISTS", "* 3 EXPUNGE"], "EXPUNGE 3 outside 1..2"),
        (["* 2 EXISTS", "* 1 EXISTS"], "EXISTS 1 below"),
        (["* 2 EXISTS", "* 1 FETCH (UID 5)", "* 1 FETCH (UID 6)"], "was UID 5, now UID 6"),
        (["* 2 EXISTS", "* 1 FETCH (UID 5)", "* 2 FETCH (UID 3)"], "ascending"),
        (["* 2 EXISTS", "* 1 FETCH (UID 5)", "* 1 EXPUNGE", "* 1 FETCH (UID 5)"], "came back"),
        (
            [
                "* 1 EXISTS",
                "* 1 FETCH (UID 5 FLAGS () MODSEQ (4))",
                "* 1 FETCH (FLAGS () MODSEQ (3))",
            ],
            "MODSEQ went down",
        ),
        (
            [
                "* 1 EXISTS",
                "* 1 FETCH (UID 5 FLAGS () MODSEQ (4))",
                "* 1 FETCH (FLAGS (\\Seen) MODSEQ (4))",
            ],
            "MODSEQ 4 with flags",
        ),
    ],
)
def test_model_catches(lines: list[str], error: str) -> None:
    _, shared = _client(*lines)
    assert len(shared.errors) == 1 and error in shared.errors[0], shared.errors


def test_model_catches_expunge_during_fetch_by_number() -> None:
    c, shared = _client("* 2 EXISTS")
    c.running = ("FETCH", True)  # UID FETCH: allowed (RFC 3501 §7.4.1)
    c.untagged("* 2 EXPUNGE")
    assert shared.errors == []
    c.running = ("STORE", False)
    c.untagged("* 1 EXPUNGE")
    assert len(shared.errors) == 1 and "during STORE" in shared.errors[0]
