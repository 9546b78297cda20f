"""ManageSieve (RFC 5804) driven over raw sockets: capabilities, STARTTLS, SASL, scripts."""

from __future__ import annotations

import base64

import pytest

from mailtool.protocol.sasl import ScramClient
from tests.mra.managesieve.conftest import PASSWORD, USER, Client, add_user, caps

GOOD = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'
BAD = 'require "fileinto";\r\nif true {\r\n  fileint "X";\r\n}\r\n'


def test_greeting_capabilities_before_tls(client):
    lines, ok = client.greeting
    assert ok.startswith(b"OK")
    c = caps(lines)
    assert c["IMPLEMENTATION"] == "mailtool"
    assert c["SASL"] == ""  # no password before TLS (RFC 5804 §2.1)
    assert "STARTTLS" in c
    assert c["VERSION"] == "1.0"
    assert {"fileinto", "vacation", "imap4flags", "variables", "body"} <= set(c["SIEVE"].split())


def test_authenticate_before_tls_is_refused(client):
    assert client.login().startswith(b"NO (ENCRYPT-NEEDED)")


def test_starttls_reissues_capabilities(client):
    lines, ok = client.starttls()
    assert ok.startswith(b"OK")
    c = caps(lines)
    assert "STARTTLS" not in c
    assert c["SASL"].split() == ["SCRAM-SHA-256", "PLAIN"]


def test_plain_login_good_and_bad(client):
    client.starttls()
    assert client.login(password="wrong").startswith(b"NO")
    assert client.login().startswith(b"OK")
    lines, _ = client.cmd("CAPABILITY")
    assert caps(lines)["OWNER"] == USER


def test_scram_login(client):
    client.starttls()
    scram = ScramClient(USER, PASSWORD)
    first = base64.b64encode(scram.initial_response()).decode()
    client.send(f'AUTHENTICATE "SCRAM-SHA-256" "{first}"\r\n')
    while True:
        line = client.line().rstrip(b"\r\n")
        if line.startswith((b"OK", b"NO")):
            break
        challenge = base64.b64decode(line.strip(b'"'))
        answer = scram.step(challenge) if not scram.done else b""
        client.send(b'"' + base64.b64encode(answer) + b'"\r\n')
    assert line.startswith(b"OK"), line


def test_sasl_cancel(client):
    client.starttls()
    client.send('AUTHENTICATE "SCRAM-SHA-256"\r\n')
    assert client.line().startswith(b'"')
    _, final = client.cmd('"*"')
    assert final.startswith(b"NO")


def test_script_lifecycle(logged_in):
    c = logged_in
    assert c.put("main", GOOD).startswith(b"OK")
    lines, ok = c.cmd("LISTSCRIPTS")
    assert ok.startswith(b"OK") and lines == [b'"main"']
    assert c.cmd('SETACTIVE "main"')[1].startswith(b"OK")
    assert c.cmd("LISTSCRIPTS")[0] == [b'"main" ACTIVE']
    lines, ok = c.cmd('GETSCRIPT "main"')
    assert ok.startswith(b"OK") and lines[0] == GOOD.encode()
    assert c.cmd('DELETESCRIPT "main"')[1].startswith(b"NO (ACTIVE)")
    assert c.put("second", "keep;").startswith(b"OK")
    assert c.cmd('RENAMESCRIPT "second" "main"')[1].startswith(b"NO (ALREADYEXISTS)")
    assert c.cmd('RENAMESCRIPT "main" "renamed"')[1].startswith(b"OK")
    assert c.cmd("LISTSCRIPTS")[0] == [b'"renamed" ACTIVE', b'"second"']
    assert c.cmd('SETACTIVE ""')[1].startswith(b"OK")
    assert c.cmd('DELETESCRIPT "renamed"')[1].startswith(b"OK")
    assert c.cmd('DELETESCRIPT "renamed"')[1].startswith(b"NO (NONEXISTENT)")
    assert c.cmd('GETSCRIPT "nope"')[1].startswith(b"NO (NONEXISTENT)")
    assert c.cmd('SETACTIVE "nope"')[1].startswith(b"NO (NONEXISTENT)")
    c.cmd('DELETESCRIPT "second"')


def test_putscript_validates_and_names_line_and_column(logged_in):
    final = logged_in.put("broken", BAD)
    assert final.startswith(b"NO")
    assert b"line 3, column 3" in final and b"fileint" in final
    assert logged_in.cmd("LISTSCRIPTS")[0] == []
    data = BAD.encode()
    _, final = logged_in.cmd(f"CHECKSCRIPT {{{len(data)}+}}\r\n".encode() + data)
    assert final.startswith(b"NO") and b"line 3, column 3" in final
    _, ok = logged_in.cmd(b'CHECKSCRIPT "keep;"')
    assert ok.startswith(b"OK")


def test_havespace_and_size_limit(logged_in):
    assert logged_in.cmd('HAVESPACE "x" 100')[1].startswith(b"OK")
    assert logged_in.cmd('HAVESPACE "x" 10000000')[1].startswith(b"NO (QUOTA/MAXSIZE)")


def test_oversized_literal_ends_the_connection(logged_in):
    logged_in.send('PUTSCRIPT "big" {99999999+}\r\n')
    _, final = logged_in.response()
    assert final.startswith(b"BYE")


def test_noop_tag_unknown_and_out_of_state_commands(client):
    assert client.cmd('NOOP "abc"')[1] == b'OK (TAG "abc") "Done"'
    assert client.cmd("FROB")[1].startswith(b"NO")
    assert client.cmd("LISTSCRIPTS")[1].startswith(b"NO")
    assert client.cmd("LOGOUT")[1].startswith(b"OK")


def test_stored_script_is_what_delivery_runs(sieve_server, logged_in):
    assert logged_in.put("web", GOOD).startswith(b"OK")
    logged_in.cmd('SETACTIVE "web"')
    shown = sieve_server.cli("sieve", "show", USER)
    assert 'fileinto "X";' in shown.stdout
    logged_in.cmd('SETACTIVE ""')
    logged_in.cmd('DELETESCRIPT "web"')


def test_plaintext_on_loopback_when_configured(mailtool_server):
    server = mailtool_server(
        services=("managesieve",), config={"security": {"plaintext_auth_on_loopback": True}}
    )
    add_user(server)
    c = Client(server.port("managesieve"))
    try:
        assert caps(c.greeting[0])["SASL"] == "SCRAM-SHA-256 PLAIN"
        assert c.login().startswith(b"OK")
    finally:
        c.close()


@pytest.mark.peer
def test_sieve_connect_uploads_lists_downloads_and_activates(sieve_server, tmp_path):
    import subprocess

    from tests.peers import require_tool

    tool = require_tool("sieve-connect")
    script = tmp_path / "vacation.sieve"
    script.write_text('require "vacation";\nvacation :days 2 "I am away";\n')
    port = str(sieve_server.port("managesieve"))
    base = [tool, "--server", "127.0.0.1", "--port", port, "--user", USER,
            "--notlsverify", "--authmech", "PLAIN", "--passwordfd", "0"]  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], input=PASSWORD + "\n", capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    up = run("--upload", "--localsieve", str(script), "--remotesieve", "away")
    assert up.returncode == 0, up.stdout + up.stderr
    assert run("--activate", "--remotesieve", "away").returncode == 0
    listed = run("--list")
    assert "away" in listed.stdout and "ACTIVE" in listed.stdout.upper(), listed.stdout
    out = tmp_path / "back.sieve"
    down = run("--download", "--remotesieve", "away", "--localsieve", str(out))
    assert down.returncode == 0, down.stdout + down.stderr
    assert out.read_text().replace("\r\n", "\n") == script.read_text()
    bad = tmp_path / "bad.sieve"
    bad.write_text('fileinto "x";\n')
    refused = run("--upload", "--localsieve", str(bad), "--remotesieve", "bad")
    assert refused.returncode != 0
    assert "fileinto" in refused.stdout + refused.stderr
    assert run("--deactivate").returncode == 0
    assert run("--delete", "--remotesieve", "away").returncode == 0


def test_literal_length_is_ascii_digits(client):
    # "²".isdigit() is True but int() refuses it: ValueError in the session before login
    # (found by tests/fuzz/fuzz_managesieve_wire.py)
    assert client.cmd("NOOP {\u00b2}".encode())[1].startswith(b"NO")
    assert client.cmd('NOOP "still here"')[1].startswith(b"OK")


def test_havespace_size_is_ascii_digits(logged_in):
    assert logged_in.cmd('HAVESPACE "x" \u00b2'.encode())[1].startswith(b"NO")
    assert logged_in.cmd('HAVESPACE "x" 100')[1].startswith(b"OK")
