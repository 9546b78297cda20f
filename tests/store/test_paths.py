"""One object owns the data dir's layout (mailtool/store/paths.py DataDir): every store and
service finds its place through it, and no module spells a data dir path itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mailtool
from mailtool.store.paths import DataDir

PACKAGE = Path(mailtool.__file__).parent

#: ``data_dir / "x"``, ``data_path / "x"``, ``Path(data_dir) / "x"``, ``Path(cfg.data_dir) / "x"``
SPELLED = re.compile(r"""(?:\bdata_(?:path|dir)|Path\([\w.]*data_(?:path|dir)\))\s*/\s*f?["']""")


def spelled_out_paths(root: Path) -> list[str]:
    """``file:line: text`` of every line under ``root`` that joins a name to the data dir."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "paths.py" and path.parent.name == "store":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SPELLED.search(line):
                found.append(f"{path.relative_to(root.parent)}:{n}: {line.strip()}")
    return found


def test_no_module_spells_a_data_dir_path() -> None:
    found = spelled_out_paths(PACKAGE)
    assert not found, "use mailtool.store.paths.DataDir instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'x = data_dir / "queue"',
        "x = cfg.data_path / 'dkim'",
        'x = Path(data_dir) / "sieve"',
        'x = Path(cfg.data_dir) / "tls" / "selfsigned.crt"',
        'x = data_path / f"{name}.db"',
    ],
)
def test_the_check_sees_every_spelling(tmp_path: Path, line: str) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(line + "\n")
    (pkg / "fine.py").write_text('y = DataDir(data_dir).queue\nz = acme_dir(data_path) / "k"\n')
    assert spelled_out_paths(pkg) == [f"pkg/mod.py:1: {line}"]


def test_every_store_and_service_lives_where_data_dir_says(tmp_path: Path) -> None:
    from mailtool import config as config_mod
    from mailtool.acme.manager import acme_dir
    from mailtool.mta.authn.keys import key_dir
    from mailtool.mta.authn.mtasts import MtaStsCache
    from mailtool.mta.authn.tlsrpt import TlsReportLog
    from mailtool.store.accounts import AccountStore
    from mailtool.store.backends import Stores
    from mailtool.store.mailstore import MailStore
    from mailtool.store.queue import Queue
    from mailtool.store.sieve_scripts import SieveScripts

    paths = DataDir(tmp_path)
    stores = Stores(config_mod.from_dict({"data_dir": str(tmp_path)}))
    try:
        assert stores.paths == paths
        assert stores.accounts.path == paths.accounts_db  # type: ignore[attr-defined]
        assert stores.mail.root == paths.mail  # type: ignore[attr-defined]
        assert stores.queue.path == paths.queue  # type: ignore[attr-defined]
        assert stores.sieve_scripts.root == paths.sieve  # type: ignore[attr-defined]
    finally:
        stores.close()
    accounts = AccountStore.in_data_dir(tmp_path)
    try:
        assert accounts.path == paths.accounts_db
        assert accounts.mail_root == paths.mail
    finally:
        accounts.close()
    mail = MailStore(tmp_path)
    assert mail.root == paths.mail
    mail.close()
    assert Queue.in_data_dir(tmp_path).path == paths.queue
    assert SieveScripts(tmp_path).root == paths.sieve
    assert key_dir(tmp_path) == paths.dkim
    assert acme_dir(tmp_path) == paths.acme
    assert MtaStsCache(tmp_path, None).dir == paths.mta_sts  # type: ignore[arg-type]
    assert TlsReportLog(tmp_path).dir == paths.tlsrpt


def test_layout() -> None:
    """The names on disk (a data dir written by an older version must still be found)."""
    d = DataDir("/d")
    assert (d.accounts_db, d.mail, d.queue, d.queue_tmp) == (
        Path("/d/accounts.db"), Path("/d/mail"), Path("/d/queue"), Path("/d/queue/tmp"),
    )  # fmt: skip
    assert (d.sieve, d.sieve_global, d.dkim, d.mta_sts, d.tlsrpt) == (
        Path("/d/sieve"), Path("/d/sieve/global"), Path("/d/dkim"), Path("/d/mta-sts"),
        Path("/d/tlsrpt"),
    )  # fmt: skip
    assert (d.tls, d.self_signed_cert, d.acme) == (
        Path("/d/tls"), Path("/d/tls/selfsigned.crt"), Path("/d/tls/acme"),
    )  # fmt: skip
    assert (d.run, d.listeners_file, d.private_stamp) == (
        Path("/d/run"), Path("/d/run/listeners.json"), Path("/d/run/private"),
    )  # fmt: skip
    assert d.mailbox("alice", "a.test") == Path("/d/mail/a.test/alice")
    assert d.mailbox_index("alice", "a.test").parent == Path("/d/mail/a.test/alice")
    assert DataDir("/d") == d and hash(DataDir("/d")) == hash(d) and str(Path(d)) == "/d"
