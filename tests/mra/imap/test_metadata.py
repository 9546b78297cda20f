"""METADATA / METADATA-SERVER (RFC 5464) against a real server, raw client."""

from __future__ import annotations

from collections.abc import Callable

from tests.mra.imap.conftest import Imap
from tests.mra.imap.wireclient import Wire


def code(reply_line: bytes) -> bytes:
    """The response code of a tagged line: ``[METADATA TOOMANY]``."""
    start = reply_line.find(b"[")
    return reply_line[start : reply_line.find(b"]") + 1] if start >= 0 else b""


def test_server_and_mailbox_entries_set_get_and_remove(imap: Imap):
    w = imap.wire()
    caps = w.cmd("CAPABILITY").untagged[0]
    assert b" METADATA" in caps and b"METADATA-SERVER" not in caps  # RFC 5464 §1: implied
    assert (
        w.cmd('SETMETADATA "" (/shared/comment "Server note" /private/X {5}\r\nhi\r\n!)').status
        == "OK"
    )
    got = w.cmd('GETMETADATA "" (/shared/comment /private/x /private/missing)')
    assert got.status == "OK"
    assert got.untagged == [
        b'* METADATA "" (/shared/comment {11}\r\nServer note /private/x {5}\r\nhi\r\n!'
        b" /private/missing NIL)\r\n"
    ]
    assert w.cmd('SETMETADATA INBOX (/private/comment "mine")').status == "OK"
    assert w.cmd("GETMETADATA INBOX /private/comment").untagged == [
        b"* METADATA INBOX (/private/comment {4}\r\nmine)\r\n"
    ]
    # NIL removes (RFC 5464 §4.3)
    assert w.cmd("SETMETADATA INBOX (/private/comment NIL)").status == "OK"
    assert w.cmd("GETMETADATA INBOX /private/comment").untagged == [
        b"* METADATA INBOX (/private/comment NIL)\r\n"
    ]
    # the server's entries are not INBOX's
    assert w.cmd("GETMETADATA INBOX /shared/comment").has(b"/shared/comment NIL")


def test_depth_and_maxsize(imap: Imap):
    w = imap.wire()
    sets = '/private/a "1" /private/a/b "22" /private/a/b/c "333" /private/a/d "4444444444"'
    assert w.cmd(f"SETMETADATA INBOX ({sets})").status == "OK"
    one = w.cmd("GETMETADATA (DEPTH 1) INBOX /private/a")
    assert one.untagged == [
        b"* METADATA INBOX (/private/a {1}\r\n1 /private/a/b {2}\r\n22"
        b" /private/a/d {10}\r\n4444444444)\r\n"
    ]
    inf = w.cmd("GETMETADATA (DEPTH infinity) INBOX /private")
    assert inf.untagged[0].count(b"/private/a") == 4
    small = w.cmd("GETMETADATA (MAXSIZE 5 DEPTH infinity) INBOX /private/a")
    assert (
        b"4444444444" not in small.untagged[0] and b"/private/a/b/c {3}\r\n333" in small.untagged[0]
    )
    # RFC 5464 §4.2.1: the OK names the longest value left out
    assert code(small.tagged) == b"[METADATA LONGENTRIES 10]"


def test_bad_names_missing_mailboxes_and_logged_out(imap: Imap):
    w = imap.wire(login=False)
    assert w.cmd('GETMETADATA "" /shared/comment').status == "BAD"
    w = imap.wire()
    for entry in ("/other/x", "/private/a*", "/private//x", "/private/x/", "private/x", "/shared"):
        assert w.cmd(f'SETMETADATA "" ({entry} "v")').status == "BAD", entry
    assert w.cmd('GETMETADATA "" /private/%').status == "BAD"
    missing = w.cmd('SETMETADATA Nowhere (/private/x "v")')
    assert missing.status == "NO" and code(missing.tagged) == b"[NONEXISTENT]"
    assert w.cmd("GETMETADATA Nowhere /private/x").status == "NO"
    assert w.cmd("GETMETADATA (DEPTH 2) INBOX /private/x").status == "BAD"


def test_bounds_entry_size_count_total_all_or_nothing(
    imap_server: Callable[..., Imap],
):
    server = imap_server(
        config={
            "limits": {
                "imap_metadata_max_entry_size": 100,
                "imap_metadata_max_entries": 3,
                "imap_metadata_max_total": 250,
            }
        }
    )
    w = server.wire()
    big = w.cmd('SETMETADATA "" (/private/big "%s")' % ("x" * 101))
    assert big.status == "NO" and code(big.tagged) == b"[METADATA MAXSIZE 100]"
    three = " ".join(f'/private/e{i} "{i}"' for i in range(3))
    assert w.cmd(f'SETMETADATA "" ({three})').status == "OK"
    four = w.cmd('SETMETADATA INBOX (/private/e4 "4")')
    assert four.status == "NO" and code(four.tagged) == b"[METADATA TOOMANY]"
    # replacing an entry does not count twice; the total is bounded too
    assert w.cmd('SETMETADATA "" (/private/e0 "%s")' % ("y" * 100)).status == "OK"
    assert w.cmd('SETMETADATA "" (/private/e1 "%s")' % ("y" * 100)).status == "OK"
    total = w.cmd('SETMETADATA "" (/private/e2 "%s")' % ("y" * 100))
    assert code(total.tagged) == b"[METADATA TOOMANY]"
    # all or nothing: a refused command set none of its entries
    mixed = w.cmd('SETMETADATA "" (/private/e2 NIL /private/e5 "%s")' % ("z" * 101))
    assert mixed.status == "NO"
    assert w.cmd('GETMETADATA "" /private/e2').has(b"/private/e2 {1}\r\n2")


def test_entries_follow_rename_and_go_with_delete(imap: Imap):
    w: Wire = imap.wire()
    for box in ("Work", "Work/Sub"):
        assert w.cmd(f"CREATE {box}").status == "OK"
    assert w.cmd('SETMETADATA Work (/private/color "red")').status == "OK"
    assert w.cmd('SETMETADATA Work/Sub (/shared/comment "sub")').status == "OK"
    assert w.cmd("RENAME Work Job").status == "OK"
    assert w.cmd("GETMETADATA Job /private/color").has(b"{3}\r\nred")
    assert w.cmd("GETMETADATA Job/Sub /shared/comment").has(b"{3}\r\nsub")
    assert w.cmd("DELETE Job/Sub").status == "OK"
    assert w.cmd("CREATE Job/Sub").status == "OK"
    assert w.cmd("GETMETADATA Job/Sub /shared/comment").has(b"/shared/comment NIL")
    # values survive a new connection (they are on disk)
    w2 = imap.wire()
    assert w2.cmd("GETMETADATA Job /private/color").has(b"{3}\r\nred")
