"""Scripts as filter editors write them (tests/data/sieve/clients/<tool>/): checked and
uploaded over ManageSieve with sieve-connect, then run at delivery by a real serve.

Each case is ``<name>.sieve`` (the script as Roundcube's managesieve plugin, the
Thunderbird Sieve add-on, SnappyMail or Nextcloud Mail emit it), ``<name>.eml`` (the
message) and ``<name>.json`` (envelope and expected outcome: folders the message lands
in, flags per folder, headers per folder, redirects, whether a vacation reply and a
reject happen). SIEVE-A's Pigeonhole differential test runs the same scripts too.
"""

from __future__ import annotations

import json
import smtplib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.mda.filtering import run_filters
from mailtool.mda.sieve import EXTENSIONS, Envelope
from mailtool.mda.sieve.message import MessageView
from tests.harness import MailtoolServer
from tests.mra import stores
from tests.mra.managesieve.conftest import PASSWORD, Client, add_user, caps

CLIENTS = Path(__file__).resolve().parents[2] / "data" / "sieve" / "clients"
CASES = sorted(CLIENTS.glob("*/*.sieve"))
USER = "alice@example.test"
FAST_QUEUE = {"retry_first": 0.2, "retry_factor": 1.0, "retry_max": 0.2, "poll_interval": 0.2}


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def expected(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text())


def test_the_corpus_covers_the_tools_and_the_features():
    assert {p.parent.name for p in CASES} == {"roundcube", "thunderbird", "snappymail",
                                              "nextcloud"}  # fmt: skip
    text = "\n".join(p.read_text() for p in CASES)
    for feature in ("# rule:[", "BEGIN:FILTER", "### Nextcloud Mail", "currentdate", ":create",
                    ":regex", "size :over", ":count", "addflag", "redirect :copy", "addheader",
                    "deleteheader", "vacation"):  # fmt: skip
        assert feature in text, feature


# ---------------------------------------------------------------- in process: the interpreter


@pytest.mark.parametrize("script", CASES, ids=case_id)
def test_each_script_does_what_it_says(script):
    want = expected(script)
    message = script.with_suffix(".eml").read_bytes()
    decision = run_filters(script.read_text(), None, Envelope(want["from"], want["to"]),
                           message, user_addresses=[USER])  # fmt: skip
    assert not decision.errors
    assert sorted(d.folder for d in decision.deliveries) == sorted(want["folders"])
    for delivery in decision.deliveries:
        assert sorted(delivery.flags) == sorted(want["flags"].get(delivery.folder, []))
        view = MessageView(delivery.message or message)
        for name, value in want["headers"].get(delivery.folder, {}).items():
            assert view.headers(name) == [value]
    assert decision.redirects == want["redirect"]
    for target, headers in want.get("redirect_headers", {}).items():
        view = MessageView(decision.redirect_messages[target])
        assert all(view.headers(n) == [v] for n, v in headers.items())
    assert bool(decision.vacations) is want["vacation"]
    assert (decision.reject is not None) is want["reject"]


# ---------------------------------------------------------------- over the wire, through delivery


@pytest.fixture(scope="module", params=stores.BACKENDS)
def server(tmp_path_factory, request) -> Iterator[MailtoolServer]:
    workdir = tmp_path_factory.mktemp("clients") / "mt"
    srv = MailtoolServer(workdir, services=("managesieve", "smtp"),
                         config=stores.backend_config(request, {"queue": FAST_QUEUE}))  # fmt: skip
    srv.start()
    for user in (USER, "bob@example.test", "carol@example.test", "boss@example.test"):
        add_user(srv, user)
    yield srv
    stores.stop_server(srv)


def sieve_connect(server: MailtoolServer, commands: str, workdir: Path) -> str:
    from tests.peers import require_tool

    tool = require_tool("sieve-connect")
    exec_file = workdir / "commands.txt"
    exec_file.write_text(commands)
    port = str(server.port("managesieve"))
    done = subprocess.run(
        [tool, "--server", "127.0.0.1", "--port", port, "--user", USER, "--notlsverify",
         "--authmech", "PLAIN", "--passwordfd", "0", "--exec", str(exec_file)],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def uploaded(server, tmp_path_factory) -> dict[Path, str]:
    """Every corpus script CHECKSCRIPTed and PUTSCRIPTed by sieve-connect (one session)."""
    names = {p: f"{p.parent.name}-{p.stem}" for p in CASES}
    commands = "".join(f"checkscript {p}\nput {p} {n}\n" for p, n in names.items()) + "list\n"
    listing = sieve_connect(server, commands, tmp_path_factory.mktemp("sc"))
    for name in names.values():
        assert name in listing
    return names


def folder_messages(server: MailtoolServer, user: str, folder: str) -> list[tuple[bytes, Any]]:
    from mailtool.errors import NotFound

    try:  # the server's backend, opened in this process
        box = stores.server_stores(server).mail.user(user).folder(folder)
        return [(box.read_bytes(m.uid), m) for m in box.messages()]
    except NotFound:
        return []


def wait_until(check: Any, server: MailtoolServer, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached\n{server.log()[-3000:]}")
        time.sleep(0.05)


def with_id(server: MailtoolServer, user: str, folder: str, msgid: bytes) -> list[Any]:
    return [(d, m) for d, m in folder_messages(server, user, folder) if msgid in d]


def queue_empty(server: MailtoolServer) -> bool:
    return server.cli("queue", "list", "--json").stdout.strip() == "[]"


@pytest.mark.peer
@pytest.mark.parametrize("script", CASES, ids=case_id)
def test_uploaded_with_sieve_connect_and_run_at_delivery(server, uploaded, script):
    want = expected(script)
    message = script.with_suffix(".eml").read_bytes()
    msgid = MessageView(message).raw_headers("Message-ID")[0].strip().encode()
    client = Client(server.port("managesieve"))
    try:
        client.starttls()
        assert client.login(USER, PASSWORD).startswith(b"OK")
        assert client.cmd(f'SETACTIVE "{uploaded[script]}"')[1].startswith(b"OK")
    finally:
        client.close()
    with smtplib.SMTP(*server.address("smtp")) as smtp:
        smtp.ehlo("client.test")
        assert smtp.sendmail(want["from"], [USER], message) == {}
    for folder in want["folders"]:
        ((data, info),) = wait_until(lambda f=folder: with_id(server, USER, f, msgid), server)
        assert sorted(want["flags"].get(folder, [])) == sorted(
            f for f in info.flags if f not in ("\\Recent",)
        )
        view = MessageView(data)
        for name, value in want["headers"].get(folder, {}).items():
            assert view.headers(name) == [value]
    for target in want["redirect"]:
        ((data, _),) = wait_until(lambda t=target: with_id(server, t, "INBOX", msgid), server)
        view = MessageView(data)  # editheader's changes travel with the redirect (RFC 5293)
        for name, value in want.get("redirect_headers", {}).get(target, {}).items():
            assert view.headers(name) == [value]
        assert len(view.headers("Return-Path")) == 1
    if want["vacation"]:
        wait_until(lambda: [d for d, _ in folder_messages(server, want["from"], "INBOX")
                            if b"In-Reply-To: " + msgid in d], server)  # fmt: skip
    if not want["folders"]:
        wait_until(lambda: queue_empty(server), server)  # delivered (discarded or bounced)
        folders = ["INBOX", "Junk", "Small"]
        assert not any(with_id(server, USER, f, msgid) for f in folders)


def test_capability_lists_exactly_our_extensions_and_checkscript_takes_them(sieve_server):
    c = Client(sieve_server.port("managesieve"))
    try:
        greeting = caps(c.greeting[0])
        assert greeting["SIEVE"].split() == sorted(EXTENSIONS)
        assert greeting["NOTIFY"] == "mailto"
        c.starttls()
        assert c.login().startswith(b"OK")
        every = " ".join(f'"{e}"' for e in sorted(EXTENSIONS))
        script = f"require [{every.replace(' ', ', ')}];\nkeep;\n"
        data = script.encode()
        ok = c.cmd(f"CHECKSCRIPT {{{len(data)}+}}\r\n".encode() + data)[1]
        assert ok.startswith(b"OK"), ok
        assert c.put("every", script).startswith(b"OK")
        bad = b'require "x-unknown";\r\n'
        no = c.cmd(f"CHECKSCRIPT {{{len(bad)}+}}\r\n".encode() + bad)[1]
        assert no.startswith(b"NO {")  # RFC 5804 §2.12: the reason as a literal
        reason = c.file.read(int(no[4:-1].rstrip(b"+")))
        assert b"line 1" in reason and b"x-unknown" in reason
    finally:
        c.close()
