"""FETCH ENVELOPE / BODYSTRUCTURE / BODY over the wire: mailtool's answers equal
Dovecot's for the MIME corpus (tests/data/mime/), message by message."""

from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest

from tests.harness import MailtoolServer
from tests.mra.imap.conftest import PASSWORD, add_user, client_tls
from tests.peers.dovecot import Dovecot
from tests.protocol.test_mime_dovecot import CORPUS, FILES, KNOWN_DIFFERENCES, _append_raw, _fetch

pytestmark = pytest.mark.peer
ITEMS = "(ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE)"


def _answers(imap: imaplib.IMAP4) -> dict[str, dict[str, object]]:
    for name in FILES:
        _append_raw(imap, (CORPUS / name).read_bytes())
    imap.select("INBOX")
    return {name: _fetch(imap, seq, ITEMS) for seq, name in enumerate(FILES, 1)}


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, shared_server: MailtoolServer
) -> Iterator[tuple[dict[str, dict[str, object]], dict[str, dict[str, object]]]]:
    with Dovecot(tmp_path_factory.mktemp("dovecot"), pop3=False) as dc:
        theirs_client = imaplib.IMAP4("127.0.0.1", dc.imap_port)
        theirs_client.login("alice", "pw")
        theirs = _answers(theirs_client)
        theirs_client.logout()
    add_user(shared_server, "corpus@example.test")
    ours_client = imaplib.IMAP4_SSL(
        "127.0.0.1", shared_server.port("imaps"), ssl_context=client_tls()
    )
    ours_client.login("corpus@example.test", PASSWORD)
    # Dovecot 2.3 sends stored UTF-8 headers to every client; mailtool downgrades them
    # for clients that did not enable UTF8=ACCEPT (RFC 6855 §6), so compare enabled
    ours_client.enable("UTF8=ACCEPT")
    ours = _answers(ours_client)
    ours_client.logout()
    yield ours, theirs


@pytest.mark.parametrize("name", FILES)
def test_fetch_answers_equal_dovecot(name: str, both) -> None:  # type: ignore[no-untyped-def]
    if name in KNOWN_DIFFERENCES:
        pytest.skip(KNOWN_DIFFERENCES[name])
    ours, theirs = both
    assert ours[name] == theirs[name]
