"""The two servers of the conformance run: a private Dovecot and ``mailtool serve``,
one each per test process, with one user per script on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conformance.harness import PASSWORD
from tests.conformance.scripts import load
from tests.harness import MailtoolServer
from tests.mra import stores
from tests.mra.imap.conftest import add_user
from tests.peers.dovecot import Dovecot

#: Dovecot set up like mailtool: "/" as the hierarchy delimiter, the same special-use
#: mailboxes (created and subscribed for every user), the same extensions
DOVECOT_CONFIG = r"""
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}
mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_zlib
}
imap_metadata = yes
mail_attribute_dict = file:%h/dovecot-attributes
plugin {
  quota = count:User quota
  quota_vsizes = yes
}
"""


@dataclass
class Pair:
    """Where the two servers listen (plain IMAP on loopback on both)."""

    ours: int
    theirs: int
    mailtool: MailtoolServer
    dovecot: Dovecot


@pytest.fixture(scope="session", params=stores.BACKENDS)
def pair(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
         ) -> Iterator[Pair]:  # fmt: skip
    """Per store backend: our server on it, and a fresh Dovecot (the scripts' users
    start empty on both)."""
    scripts, _ = load()
    users = {s.user: PASSWORD for s in scripts}
    dovecot = Dovecot(
        tmp_path_factory.mktemp("conformance-dovecot"),
        users=users,
        pop3=False,
        extra_config=DOVECOT_CONFIG,
    )
    dovecot.start()
    server = MailtoolServer(
        tmp_path_factory.mktemp("conformance-mailtool"),
        services=("imap",),
        config=stores.backend_config(request, {"security": {"plaintext_auth_on_loopback": True}}),
    )
    try:
        server.start()
        for user in users:
            add_user(server, user, PASSWORD)
        yield Pair(server.port("imap"), dovecot.imap_port, server, dovecot)
    finally:
        dovecot.stop()
        stores.stop_server(server)
