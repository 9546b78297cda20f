"""secure_tree: the data dir made 0600/0700 (and, as root, the service user's) without
following a symbolic link anywhere in it."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from mailtool.store.datadir import mark_private, private_mode, secure_data_dir, secure_tree
from mailtool.store.paths import DataDir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def legacy_tree(root: Path) -> Path:
    """A data dir as an older version (umask 022) left it."""
    cur = root / "mail" / "example.test" / "bob" / "cur"
    cur.mkdir(parents=True)
    (cur / "1.msg").write_bytes(b"Subject: x\r\n\r\n")
    (root / "accounts.db").write_bytes(b"")
    for path in (root / "accounts.db", cur / "1.msg"):
        path.chmod(0o644)
    for path in (root, root / "mail", root / "mail" / "example.test", cur.parent, cur):
        path.chmod(0o755)
    return cur / "1.msg"


def test_modes_become_0600_and_0700(tmp_path):
    root = tmp_path / "data"
    message = legacy_tree(root)
    fix = secure_tree(root)
    assert mode(message) == 0o600 and mode(root / "accounts.db") == 0o600
    assert all(mode(d) == 0o700 for d in [root, *root.rglob("*")] if d.is_dir())
    assert fix.chmodded == 7 and fix.chowned == 0
    assert secure_tree(root).chmodded == 0  # nothing left to do


def test_links_and_sockets_are_never_followed_or_changed(tmp_path):
    root = tmp_path / "data"
    legacy_tree(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    (outside / "secret").chmod(0o644)
    outside.chmod(0o755)
    (root / "file-link").symlink_to(outside / "secret")
    (root / "dir-link").symlink_to(outside)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock"))
        sock_mode = mode(root / "sock")
        secure_tree(root)
        assert mode(root / "sock") == sock_mode
    assert mode(outside / "secret") == 0o644 and mode(outside) == 0o755


def test_private_mode_keeps_only_owner_bits():
    assert private_mode(stat.S_IFREG | 0o644) == 0o600
    assert private_mode(stat.S_IFREG | 0o400) == 0o400
    assert private_mode(stat.S_IFDIR | 0o755) == 0o700
    assert private_mode(stat.S_IFDIR | 0o500) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_as_root_the_tree_gets_the_owner_but_a_link_target_does_not(tmp_path):
    root = tmp_path / "data"
    message = legacy_tree(root)
    target = tmp_path / "root-file"
    target.write_text("x")
    (root / "link").symlink_to(target)
    os.mkfifo(root / "fifo")
    fix = secure_tree(root, 65534, 65534)
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            assert (path.lstat().st_uid, path.lstat().st_gid) == (65534, 65534), path
    assert fix.chowned == 8  # 5 directories, 2 files, the FIFO
    assert message.stat().st_uid == 65534
    assert target.stat().st_uid == 0 and (root / "link").lstat().st_uid == 0


def test_once_marked_private_later_starts_check_only_the_top_levels(tmp_path):
    root = tmp_path / "data"
    message = legacy_tree(root)
    (root / "run").mkdir()
    assert secure_data_dir(root).chmodded == 8  # no stamp: the whole tree
    mark_private(root)
    message.chmod(0o644)  # deep: not looked at again
    (root / "accounts.db").chmod(0o644)  # top level: always
    (root / "mail").chmod(0o755)
    assert secure_data_dir(root).chmodded == 2
    assert mode(message) == 0o644
    DataDir(root).private_stamp.unlink()  # the documented way to have everything checked again
    assert secure_data_dir(root).chmodded == 1 and mode(message) == 0o600


def test_a_stamp_for_another_owner_means_the_whole_tree(tmp_path):
    root = tmp_path / "data"
    message = legacy_tree(root)
    (root / "run").mkdir()
    DataDir(root).private_stamp.write_text("12345:12345\n")
    secure_data_dir(root)
    assert mode(message) == 0o600
