"""DESIGN.md's layer rules, checked on the source.

protocol/ is sans-I/O; tui/, client/ and diagnose/ never import a server layer.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "mailtool"
FORBIDDEN_IN_PROTOCOL = {
    "asyncio",
    "socket",
    "ssl",
    "selectors",
    "subprocess",
    "io",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "sqlite3",
}
SERVER_LAYERS = (
    "mailtool.mta",
    "mailtool.mda",
    "mailtool.mra",
    "mailtool.store",
    "mailtool.server",
    "mailtool.web",
    "mailtool.acme",
)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_protocol_is_sans_io_and_stdlib_only():
    offenders = []
    for path in sorted((PKG / "protocol").rglob("*.py")):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top == "mailtool":
                if not (name.startswith("mailtool.protocol") or name == "mailtool.errors"):
                    offenders.append(f"{path.relative_to(PKG)} imports {name}")
            elif top in FORBIDDEN_IN_PROTOCOL or top not in sys.stdlib_module_names:
                offenders.append(f"{path.relative_to(PKG)} imports {name}")
    assert not offenders, offenders


def test_tui_and_client_never_import_server_layers():
    offenders = []
    for sub in ("tui", "client", "diagnose"):
        for path in sorted((PKG / sub).rglob("*.py")):
            bad = [n for n in imports_of(path) if n.startswith(SERVER_LAYERS)]
            offenders += [f"{path.relative_to(PKG)} imports {n}" for n in bad]
    assert not offenders, offenders


def test_store_does_not_import_servers_or_network():
    offenders = []
    for path in sorted((PKG / "store").rglob("*.py")):
        bad = [
            n
            for n in imports_of(path)
            if n.startswith(
                (
                    "mailtool.mta",
                    "mailtool.mra",
                    "mailtool.mda",
                    "mailtool.net",
                    "mailtool.client",
                    "asyncio",
                )
            )
        ]
        offenders += [f"{path.relative_to(PKG)} imports {n}" for n in bad]
    assert not offenders, offenders


def test_policy_imports_only_dns_and_protocol():
    # DESIGN.md: policy/ (SPF, DMARC, DKIM keys, MTA-STS, TLS-RPT, TLSA) is shared by the
    # server and diagnose, so it may import nothing of either
    allowed = ("mailtool.policy", "mailtool.dns", "mailtool.protocol", "mailtool.errors")
    offenders = []
    for path in sorted((PKG / "policy").rglob("*.py")):
        names = imports_of(path)
        bad = [n for n in names if n.startswith("mailtool.") and not n.startswith(allowed)]
        offenders += [f"{path.relative_to(PKG)} imports {n}" for n in bad]
    assert not offenders, offenders


def test_transfer_imports_only_store_client_and_protocol():
    # docs/dev/design-notes.md 12: import/export files mail through the store's own
    # append path and reads other servers with our client; no server layer
    allowed = ("mailtool.transfer", "mailtool.store", "mailtool.client", "mailtool.protocol",
               "mailtool.errors", "mailtool.config")  # fmt: skip
    offenders = []
    for path in sorted((PKG / "transfer").rglob("*.py")):
        if path.name == "backup.py":  # the backup helper's module, its own rules
            continue
        names = imports_of(path)
        bad = [n for n in names if n.startswith("mailtool.") and not n.startswith(allowed)]
        offenders += [f"{path.relative_to(PKG)} imports {n}" for n in bad]
    assert not offenders, offenders
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] not in ("cli", "transfer"):
            assert not [n for n in imports_of(path) if n.startswith("mailtool.transfer")], rel


#: what servers, the MDA, the CLI and import/export may import of the store: the protocols
#: and value types, the composition, the data dir's layout, and pure helpers
STORE_INTERFACE = (
    "mailtool.store.interfaces",  # typing.Protocol classes + re-exported value types
    "mailtool.store.backends",  # Stores: picks SQLite + Maildir or PostgreSQL
    "mailtool.store.paths",  # DataDir: the data dir's layout
    "mailtool.store.address",  # address normalisation (pure functions)
    "mailtool.store.ids",  # queue ids and tokens (pure functions)
)
#: module -> store modules it may still import directly, and why (shrink this)
STORE_ALLOWLIST: dict[str, dict[str, str]] = {
    "cli/backup.py": {
        "mailtool.store.backup": "backup/restore copy a SQLite + Maildir data dir by design",
    },
    "cli/serve.py": {"mailtool.store.datadir": "PRIVATE_UMASK: the data dir's file modes"},
    "cli/store.py": {"mailtool.store.pg": "mailtool store init/status manage the PG schema"},
    "cli/store_migrate.py": {"mailtool.store.pg": "mailtool store migrate writes into PG"},
    "mta/authn/keys.py": {
        "mailtool.store.dkim_keys": "the file-backed DKIM key store, default when no store "
        "object is passed in (the seam PG-ACCOUNTS added; Stores should pass it)",
    },
    "mta/authn/mtasts.py": {"mailtool.store.caches": "the file-backed MTA-STS cache default"},
    "mta/authn/tlsrpt.py": {"mailtool.store.caches": "the file-backed TLS-RPT log default"},
    "transfer/export.py": {
        "mailtool.store.maildir": "writes a foreign Maildir: its file-name format",
    },
    "transfer/maildir.py": {
        "mailtool.store.maildir": "reads a foreign Maildir: its file-name format and flags",
    },
    "transfer/writer.py": {
        "mailtool.store.maildir": "write_durably: tmp -> fsync -> rename for the spool files",
    },
}


def store_modules_of(path: Path) -> set[str]:
    """The mailtool.store modules ``path`` imports (``from mailtool.store import ids``
    counts as mailtool.store.ids), at any depth (imports inside functions too)."""
    names = {n for n in imports_of(path) if n.startswith("mailtool.store.")}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "mailtool.store":
            names.update(f"mailtool.store.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name == "mailtool.store")
    return names


def store_imports_outside_the_interface() -> list[str]:
    offenders = []
    for sub in ("mra", "mta", "mda", "cli", "transfer"):
        for path in sorted((PKG / sub).rglob("*.py")):
            rel = str(path.relative_to(PKG))
            allowed = STORE_INTERFACE + tuple(STORE_ALLOWLIST.get(rel, {}))
            offenders += [
                f"{rel} imports {name}"
                for name in sorted(store_modules_of(path))
                if not name.startswith(allowed)
            ]
    return offenders


def test_servers_mda_and_cli_use_the_store_interfaces():
    """Issue 17 point 10: servers, the MDA and the CLI depend on the store protocols
    (mailtool/store/interfaces.py) and get the objects from Stores, never a backend's
    class (SQLite, Maildir, index, PostgreSQL) directly."""
    offenders = store_imports_outside_the_interface()
    assert not offenders, offenders


def test_store_allowlist_has_no_stale_entries():
    for rel, entries in STORE_ALLOWLIST.items():
        names = store_modules_of(PKG / rel) if (PKG / rel).exists() else set()
        for module in entries:
            assert any(n.startswith(module) for n in names), f"{rel}: {module} no longer needed"


def test_store_import_check_sees_every_form(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from mailtool.store import maildir, interfaces\n"
        "import mailtool.store.index\n"
        "def f():\n"
        "    from mailtool.store.pg.db import Database\n"
    )
    assert store_modules_of(source) == {
        "mailtool.store.maildir", "mailtool.store.interfaces", "mailtool.store.index",
        "mailtool.store.pg.db",
    }  # fmt: skip
