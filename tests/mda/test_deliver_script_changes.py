"""The server's SieveScripts remembers scripts between deliveries, but a script
changed by another writer (``mailtool sieve set``, ManageSieve: another
SieveScripts on the same data dir) applies to the very next delivery."""

from __future__ import annotations

import pytest

from mailtool.mda.deliver import deliver
from mailtool.mda.filtering import PROMOTIONS_SETTING
from mailtool.store.backends import Stores

ALICE = "alice@local.test"
MESSAGE = b"From: a@other.test\r\nTo: alice@local.test\r\nSubject: hello\r\n\r\nbody\r\n"
BULK = b"List-Id: <news.other.test>\r\n" + MESSAGE


def fileinto(folder: str) -> str:
    return f'require ["fileinto"];\r\nfileinto "{folder}";\r\n'


@pytest.fixture
def env(alice_mail, mda_stores, request):
    mail = alice_mail
    other = Stores(mda_stores.config)  # another process's (the CLI's) on the same stores
    request.addfinalizer(other.close)
    server, cli = mda_stores.sieve_scripts, other.sieve_scripts

    def folders(message: bytes = MESSAGE) -> list[str]:
        done = deliver(mail, message, sender="a@other.test", recipient=ALICE, scripts=server)
        return [f for f, _ in done.placed]

    return cli, folders


def test_a_user_script_set_replaced_and_deactivated_elsewhere_applies_at_once(env):
    cli, folders = env
    assert folders() == ["INBOX"]
    cli.put(ALICE, "main", fileinto("Aaaa"))
    assert folders() == ["INBOX"], "not active yet"
    cli.activate(ALICE, "main")
    assert folders() == ["Aaaa"]
    cli.put(ALICE, "main", fileinto("Bbbb"))  # same size, same second
    assert folders() == ["Bbbb"]
    cli.put(ALICE, "other", fileinto("Cccc"))
    cli.activate(ALICE, "other")
    assert folders() == ["Cccc"]
    cli.activate(ALICE, None)
    assert folders() == ["INBOX"]


def test_a_global_script_and_settings_changed_elsewhere_apply_at_once(env):
    cli, folders = env
    cli.set_global(fileinto("Gggg"))
    assert folders() == ["Gggg"]
    cli.set_global(fileinto("Hhhh"))
    assert folders() == ["Hhhh"]
    assert cli.remove_global()
    assert folders(BULK) == ["INBOX"]
    cli.set_setting(ALICE, PROMOTIONS_SETTING, True)
    assert folders(BULK) == ["Promotions"]
    cli.set_setting(ALICE, PROMOTIONS_SETTING, False)
    assert folders(BULK) == ["INBOX"]
