"""`mailtool serve` with the SMTP listeners: a taken port is refused with a clear message,
SIGTERM exits 0, and run/listeners.json lists the ports actually bound."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import subprocess
import sys

from tests.harness import MailtoolServer, render_toml


def test_serve_refuses_to_start_when_the_smtp_port_is_taken(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        server = MailtoolServer(tmp_path, services=["smtp", "submission"])
        server.config["listen"]["smtp"] = f"127.0.0.1:{port}"
        server.config_path.parent.mkdir(parents=True, exist_ok=True)
        server.config_path.write_text(render_toml(server.config))
        run = subprocess.run(
            [sys.executable, "-m", "mailtool", "--config", str(server.config_path), "serve"],
            capture_output=True, text=True, timeout=60,
        )
    assert run.returncode == 3
    assert f"127.0.0.1:{port} for smtp is already in use" in run.stderr
    assert "listen.smtp" in run.stderr and "Traceback" not in run.stderr
    assert not (server.data_dir / "run" / "listeners.json").exists()


def test_listeners_json_lists_the_bound_smtp_ports_and_sigterm_exits_0(tmp_path):
    server = MailtoolServer(tmp_path, services=["smtp", "submission", "submissions"]).start()
    try:
        listed = json.loads((server.data_dir / "run" / "listeners.json").read_text())
        assert set(listed) >= {"smtp", "submission", "submissions"}
        for name in ("smtp", "submission", "submissions"):
            host, port = server.address(name)
            assert listed[name] == f"{host}:{port}" and port != 0
            with socket.create_connection((host, port), timeout=10) as sock:
                if name == "submissions":
                    continue  # TLS first: no plaintext greeting
                assert sock.recv(100).startswith(b"220 mail.test ESMTP")
        # an idle client does not hold the shutdown up: it is told 421
        idle = socket.create_connection(server.address("smtp"), timeout=10)
        idle.recv(100)
    finally:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
    assert idle.recv(100).startswith(b"421 4.3.2")
    idle.close()
    assert not (server.data_dir / "run" / "listeners.json").exists()


def test_serve_runs_on_uvloop_unless_told_to_use_asyncios_loop(mailtool_server):
    fast = mailtool_server("fast", services=["smtp"], config={"limits": {"smtp_workers": 2}})
    plain = mailtool_server("plain", services=["smtp"], env={"MAILTOOL_EVENT_LOOP": "asyncio"})
    for server in (fast, plain):  # both serve mail
        with smtplib.SMTP(*server.address("smtp"), timeout=30) as client:
            assert client.ehlo()[0] == 250
    log = fast.wait_log("server.start", count=2)  # the worker logs when it is up
    starts = [line for line in log.splitlines() if "server.start" in line]
    assert len(starts) == 2 and all("loop=uvloop" in line for line in starts)  # and its worker
    assert "loop=asyncio" in plain.log()
