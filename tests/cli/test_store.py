"""``mailtool store init|status`` and serve's schema check (issue 17 point 1).

A private PostgreSQL cluster (tests/peers/postgres.py); each test has a fresh database.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mailtool.store.pg import schema
from tests.harness import MailtoolServer, render_toml


def node(tmp_path: Path, url: str, **store: Any) -> MailtoolServer:
    """A config for one node on ``url`` (written, not started)."""
    server = MailtoolServer(tmp_path / "node", services=("imap",),
                            config={"store": {"url": url, **store}})
    server.workdir.mkdir(parents=True, exist_ok=True)
    server.config_path.write_text(render_toml(server.config))
    return server


def serve(server: MailtoolServer) -> subprocess.CompletedProcess[str]:
    """``mailtool serve``, which must give up by itself (a schema it refuses)."""
    return subprocess.run(
        [server.python, "-m", "mailtool", "--config", str(server.config_path), "serve"],
        capture_output=True, text=True, env=server.env, timeout=60,
    )  # fmt: skip


def test_init_creates_the_schema_once_and_status_reports_it(tmp_path, postgres_url):
    server = node(tmp_path, postgres_url)
    status = server.cli("store", "status", "--json", check=False)
    assert status.returncode == 1  # no schema yet
    first = json.loads(server.cli("store", "init", "--json").stdout)
    names = [f"{m.version:03d}_{m.name}" for m in schema.migrations()]
    assert first == {"backend": "postgresql", "version": schema.latest(), "applied": names}
    again = json.loads(server.cli("store", "init", "--json").stdout)
    assert again["applied"] == [] and again["version"] == schema.latest()  # idempotent
    report = json.loads(server.cli("store", "status", "--json").stdout)
    assert report["backend"] == "postgresql" and report["version"] == schema.latest()


def test_nodes_running_init_at_once_apply_each_migration_once(tmp_path, postgres_url):
    server = node(tmp_path, postgres_url)
    argv = [server.python, "-m", "mailtool", "--config", str(server.config_path),
            "store", "init", "--json"]  # fmt: skip
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=server.env)
             for _ in range(4)]  # fmt: skip
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    applied = sorted(name for out in outputs for name in out["applied"])
    assert applied == sorted(f"{m.version:03d}_{m.name}" for m in schema.migrations())
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version FROM mailtool_schema ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in schema.migrations()]


def test_serve_refuses_a_database_without_the_schema_and_names_the_fix(tmp_path, postgres_url):
    result = serve(node(tmp_path, postgres_url))
    assert result.returncode != 0
    assert "has no mailtool schema" in result.stderr
    assert "store init" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_older_and_a_newer_schema(tmp_path, postgres_url):
    server = node(tmp_path, postgres_url)
    *older, last = schema.migrations()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as the previous release left it
        conn.execute("CREATE TABLE mailtool_schema (version integer PRIMARY KEY, name text NOT"
                     " NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for m in older:
            conn.execute(m.sql)  # type: ignore[arg-type]
            conn.execute("INSERT INTO mailtool_schema (version, name) VALUES (%s, %s)",
                         (m.version, m.name))  # fmt: skip
    refused = serve(server)
    assert refused.returncode != 0 and "upgrade it with" in refused.stderr, refused.stderr
    assert "store init" in refused.stderr
    upgraded = json.loads(server.cli("store", "init", "--json").stdout)
    assert upgraded["applied"] == [f"{last.version:03d}_{last.name}"]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO mailtool_schema (version, name) VALUES (999, 'future')")
    newer = serve(server)
    assert newer.returncode != 0 and "upgrade mailtool on this node" in newer.stderr
    assert server.cli("store", "status", check=False).returncode == 1


def test_sqlite_config_has_nothing_to_initialise(tmp_path):
    server = MailtoolServer(tmp_path / "node", services=("imap",))
    server.workdir.mkdir(parents=True)
    server.config_path.write_text(render_toml(server.config))
    assert json.loads(server.cli("store", "init", "--json").stdout)["backend"] == "sqlite"
    status = json.loads(server.cli("store", "status", "--json").stdout)
    assert status == {"backend": "sqlite", "data_dir": str(server.data_dir)}


@pytest.fixture
def password_role(postgres_cluster: Any, postgres_url: str) -> tuple[str, str]:
    """A role that must give its password (scram-sha-256 for it in pg_hba.conf, ahead of
    the cluster's trust line); returns (url without the password, the password)."""
    password = "pg-secret-0123"
    role = f"pw{postgres_url.rsplit('/', 1)[1]}"
    hba = postgres_cluster.data / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(f"ALTER DATABASE {postgres_url.rsplit('/', 1)[1]} OWNER TO {role}")
        conn.execute("SELECT pg_reload_conf()")
    dbname = postgres_url.rsplit("/", 1)[1]
    return f"postgresql://{role}@{postgres_cluster.host}:{postgres_cluster.port}/{dbname}", password


def test_password_file_is_used_and_never_printed(tmp_path, password_role):
    url, password = password_role
    wrong = node(tmp_path / "wrong", url)  # no password: the server asks for one
    refused = wrong.cli("store", "init", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    secret = tmp_path / "pg.password"
    secret.write_text(password + "\n")
    server = node(tmp_path / "right", url, password_file=str(secret))
    done = server.cli("store", "init", "--json")
    assert json.loads(done.stdout)["version"] == schema.latest()
    missing = node(tmp_path / "missing", url, password_file=str(tmp_path / "nope"))
    unreadable = missing.cli("store", "status", check=False)
    assert unreadable.returncode != 0 and "cannot read the password" in unreadable.stderr
    # a password given in the URL is not echoed back either
    in_url = node(tmp_path / "inurl", url.replace("@", ":wrong-secret@", 1))
    failed = in_url.cli("store", "init", check=False)
    assert failed.returncode != 0
    for out in (refused, done, unreadable, failed):
        assert password not in out.stdout + out.stderr
        assert "wrong-secret" not in out.stdout + out.stderr
