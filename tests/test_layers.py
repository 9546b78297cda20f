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
