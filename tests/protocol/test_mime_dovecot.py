"""Our ENVELOPE, BODYSTRUCTURE, BODY and sections against Dovecot's, message by message.

Every message of tests/data/mime/ is APPENDed byte for byte to a private
Dovecot (tests/peers/dovecot.py), fetched back, parsed with our IMAP value
parser and compared with what mailtool.protocol.mime computes.  Equal, except
the differences listed in KNOWN_DIFFERENCES, each with its reason.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtool.protocol import mime
from mailtool.protocol.imap.values import parse_value
from tests.peers.dovecot import Dovecot

pytestmark = pytest.mark.peer

CORPUS = Path(__file__).parent.parent / "data" / "mime"
FILES = sorted(p.name for p in CORPUS.glob("*.eml"))

#: {file: reason} — where our ENVELOPE/BODYSTRUCTURE knowingly differ from Dovecot 2.3
KNOWN_DIFFERENCES: dict[str, str] = {}

#: {(file, section): reason} — sections we knowingly serve differently
KNOWN_SECTION_DIFFERENCES: dict[tuple[str, str], str] = {
    ("02_no_headers_blank_first.eml", "HEADER.FIELDS.NOT (Subject Date)"): (
        "Dovecot's header filter skips a leading empty line and then returns the body "
        "lines as header fields; the header is empty, so we return just CRLF"
    ),
    ("38_header_cut_by_boundary.eml", "2.HEADER.FIELDS (subject)"): (
        "the inner header is cut by a boundary; Dovecot's filter reads on past the "
        "boundary into the next part until an empty line, we stop at the boundary"
    ),
}

# (section spec as Dovecot takes it, our (path, text, fields))
SECTIONS = [
    ("HEADER", ((), "HEADER", ())),
    ("TEXT", ((), "TEXT", ())),
    ("1", ((1,), None, ())),
    ("1.MIME", ((1,), "MIME", ())),
    ("2", ((2,), None, ())),
    ("2.MIME", ((2,), "MIME", ())),
    ("2.HEADER", ((2,), "HEADER", ())),
    ("2.TEXT", ((2,), "TEXT", ())),
    ("2.1", ((2, 1), None, ())),
    ("2.1.MIME", ((2, 1), "MIME", ())),
    ("1.1", ((1, 1), None, ())),
    ("3", ((3,), None, ())),
    (
        "HEADER.FIELDS (From Subject X-Missing)",
        ((), "HEADER.FIELDS", ("From", "Subject", "X-Missing")),
    ),
    ("HEADER.FIELDS.NOT (Subject Date)", ((), "HEADER.FIELDS.NOT", ("Subject", "Date"))),
    ("2.HEADER.FIELDS (subject)", ((2,), "HEADER.FIELDS", ("subject",))),
]


_ITEM = re.compile(rb"([A-Z0-9.]+(?:\[[^\]]*\])?) ", re.I)


def _append_raw(imap: imaplib.IMAP4, data: bytes) -> None:
    # imaplib.append() rewrites line endings to CRLF; we want the bytes as they are
    imap.literal = data  # type: ignore[attr-defined]
    typ, resp = imap._simple_command("APPEND", "INBOX")  # type: ignore[attr-defined]
    assert typ == "OK", resp


def _fetch(imap: imaplib.IMAP4, seq: int, items: str) -> dict[str, object]:
    imap.untagged_responses.pop("FETCH", None)  # type: ignore[attr-defined]
    typ, data = imap.fetch(str(seq), items)
    if typ == "NO" and b"[UNKNOWN-CTE]" in data[0]:
        return {"UNKNOWN-CTE": True}
    assert typ == "OK", data
    wire = b"".join(d[0] + b"\r\n" + d[1] if isinstance(d, tuple) else d for d in data)
    number, _, rest = wire.partition(b" (")
    assert int(number) == seq
    items: dict[str, object] = {}
    while rest != b")":
        # fetch item names (BODY[1.MIME]) are not generic atoms: split them off here
        m = _ITEM.match(rest)
        assert m is not None, rest[:40]
        items[m.group(1).decode().upper()], rest = parse_value(rest[m.end() :])
        rest = rest.lstrip(b" ")
    return items


@pytest.fixture(scope="module")
def dovecot_answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    with Dovecot(tmp_path_factory.mktemp("dovecot"), pop3=False) as dc:
        imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
        imap.login("alice", "pw")
        for name in FILES:
            _append_raw(imap, (CORPUS / name).read_bytes())
        imap.select("INBOX")
        answers: dict[str, dict] = {}
        for seq, name in enumerate(FILES, 1):
            answer = _fetch(imap, seq, "(ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE)")
            for spec, _ in SECTIONS:
                answer.update(_fetch(imap, seq, f"(BODY.PEEK[{spec}])"))
            answer.update(_fetch(imap, seq, "(BINARY.PEEK[1])"))
            answer.update(_fetch(imap, seq, "(BINARY.SIZE[1])"))
            answers[name] = answer
        imap.logout()
        yield answers


def test_corpus_is_varied() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("name", FILES)
def test_structure_matches_dovecot(name: str, dovecot_answers: dict[str, dict]) -> None:
    if name in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[name])
    msg = mime.parse((CORPUS / name).read_bytes())
    theirs = dovecot_answers[name]
    assert mime.envelope(msg) == theirs["ENVELOPE"]
    assert mime.bodystructure(msg) == theirs["BODYSTRUCTURE"]
    assert mime.bodystructure(msg, extended=False) == theirs["BODY"]
    assert len(msg.raw) == theirs["RFC822.SIZE"]


@pytest.mark.parametrize("name", FILES)
def test_sections_match_dovecot(name: str, dovecot_answers: dict[str, dict]) -> None:
    msg = mime.parse((CORPUS / name).read_bytes())
    theirs = dovecot_answers[name]
    for spec, (path, text, fields) in SECTIONS:
        if (name, spec) in KNOWN_SECTION_DIFFERENCES:
            continue
        ours = mime.section(msg, path, text, fields)
        key = "BODY[" + spec.upper() + "]"
        got = theirs[key]
        expected = None if ours is None else ours.decode("utf-8", "surrogateescape")
        assert expected == got or (ours is None and got == ""), (spec, expected, got)


#: {file: reason} — BINARY[1] we knowingly serve differently
KNOWN_BINARY_DIFFERENCES: dict[str, str] = {
    "32_duplicate_headers.eml": (
        "two Content-Transfer-Encoding fields: Dovecot's BODYSTRUCTURE takes the first "
        "(base64) but BINARY the last; we decode what BODYSTRUCTURE announces"
    ),
    "35_cte_without_content_type.eml": (
        "no MIME-Version/Content-Type, so BODYSTRUCTURE (Dovecot's too) says 7bit; "
        "Dovecot's BINARY still decodes base64, we stay consistent with BODYSTRUCTURE"
    ),
    "36_broken_content_type.eml": (
        "'Content-Type: text' (no subtype) makes Dovecot answer NO [UNKNOWN-CTE] although "
        "the part has no transfer encoding; we return the 7bit body"
    ),
    "46_rfc822_inner_no_mime.eml": (
        "BINARY of a message/rfc822 part: Dovecot also decodes the inner message and "
        "rewrites its header to 'binary'; RFC 3516 does not ask for it, we send it as is"
    ),
}


@pytest.mark.parametrize("name", FILES)
def test_binary_matches_dovecot(name: str, dovecot_answers: dict[str, dict]) -> None:
    if name in KNOWN_BINARY_DIFFERENCES:
        pytest.xfail(KNOWN_BINARY_DIFFERENCES[name])
    msg = mime.parse((CORPUS / name).read_bytes())
    theirs = dovecot_answers[name]
    if "UNKNOWN-CTE" in theirs:
        with pytest.raises(mime.UnknownCTE):
            mime.binary(msg, (1,))
        return
    ours = mime.binary(msg, (1,))
    if ours is None:  # no such part: Dovecot sends an empty string
        assert theirs["BINARY[1]"] == ""
        return
    assert ours.decode("utf-8", "surrogateescape") == theirs["BINARY[1]"]
    assert mime.binary_size(msg, (1,)) == theirs["BINARY.SIZE[1]"]
