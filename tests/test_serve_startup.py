"""`mailtool serve` start-up: data dir checks, the certificate panel, clean SIGTERM."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import SERVICES, render_toml


def squeezed(panel: str) -> str:
    """The panel's text with box lines, padding and folding removed (for long values)."""
    return re.sub(r"[^0-9A-F:]", "", panel)


def run_serve(tmp_path: Path, data_dir: Path, **kwargs) -> subprocess.Popen[str]:
    config = tmp_path / "mailtool.toml"
    config.write_text(
        render_toml(
            {
                "data_dir": str(data_dir),
                "hostname": "mx.startup.test",
                "listen": {s: False for s in SERVICES},
                "server": {"user": pwd.getpwuid(os.geteuid()).pw_name},  # see harness.py
            }
        )
    )
    return subprocess.Popen(
        [sys.executable, "-m", "mailtool", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        **kwargs,
    )


def test_unwritable_data_dir_is_refused_with_advice(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run_serve(tmp_path, blocker / "data")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert "not writable" in err and "--data-dir" in err
    assert "Traceback" not in err


def test_first_start_generates_certificate_prints_fingerprint_and_stops_cleanly(tmp_path):
    data = tmp_path / "data"
    proc = run_serve(tmp_path, data)
    listeners = data / "run" / "listeners.json"
    deadline = time.monotonic() + 30
    while not listeners.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert listeners.exists(), proc.stderr.read() if proc.poll() is not None else "timeout"
    assert json.loads(listeners.read_text()) == {}  # every listener switched off here
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "server.stop" in err
    assert not listeners.exists()
    cert = data / "tls" / "selfsigned.crt"
    assert cert.exists()
    from mailtool.net.tls import fingerprint

    assert fingerprint(cert) in squeezed(out)
    assert "selfsignedgeneratednow" in re.sub(r"[^a-z]", "", out)
    # second start reuses it and says nothing about generating
    proc = run_serve(tmp_path, data)
    while not listeners.exists() and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "generatednow" not in re.sub(r"[^a-z]", "", out)
    assert fingerprint(cert) in squeezed(out)


def test_panel_prints_the_fingerprint_verbatim(tmp_path, capsys):
    # rich read ":CD:" in a fingerprint as the emoji code for a disc: a user comparing
    # fingerprints saw "FE💿01" (the start-up test failed on one certificate in ~10)
    from types import SimpleNamespace

    from mailtool.cli.serve import _panel
    from mailtool.server import MailServer

    server = object.__new__(MailServer)
    fake = "AB:CD:EF:" * 10 + "12:CD:34"
    certs = SimpleNamespace(cert=tmp_path / "c[x].crt", key=None, generated=False,
                            fingerprint=fake)
    server.ctx = SimpleNamespace(certs=certs, accounts=SimpleNamespace(domains=lambda: ["a.test"]))
    server.bound, server.unavailable, server.data_dir = {}, [], tmp_path
    server.config = SimpleNamespace(hostname="mx.test", tls=SimpleNamespace(acme=False),
                                    listen=SimpleNamespace(enabled=dict))
    _panel(server)
    out = capsys.readouterr().out
    assert fake in squeezed(out)
    assert "c[x].crt" in out
