"""deliver() through Sieve with the real stores: folders, reject, redirect loops, the junk rule."""

from __future__ import annotations

import pytest

from mailtool.errors import PermanentFailure
from mailtool.mda.deliver import deliver, redirect_copy
from mailtool.store.mailstore import MailStore
from mailtool.store.sieve_scripts import SieveScripts

ALICE = "alice@local.test"
MESSAGE = b"From: a@other.test\r\nTo: alice@local.test\r\nSubject: hello\r\n\r\nbody line\r\n"


@pytest.fixture
def env(alice_mail, mda_stores):
    return alice_mail, mda_stores.sieve_scripts  # either backend's (tests/mda/conftest.py)


def _script(scripts: SieveScripts, text: str) -> None:
    scripts.put(ALICE, "main", text)
    scripts.activate(ALICE, "main")


def _folder(mail: MailStore, name: str) -> list[bytes]:
    folder = mail.user(ALICE).folder(name)
    return [folder.read_bytes(m.uid) for m in folder.messages()]


def test_no_script_goes_to_inbox(env):
    mail, scripts = env
    done = deliver(mail, MESSAGE, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert done.placed == (("INBOX", done.uid),) and not done.redirects and not done.vacations


@pytest.mark.parametrize("header", [b"X-Spam-Flag: YES", b"X-Mailtool-Junk: yes"])
def test_default_global_rule_files_spam_and_dmarc_quarantine_into_junk(env, header):
    mail, scripts = env
    done = deliver(mail, header + b"\r\n" + MESSAGE, sender="a@other.test", recipient=ALICE,
                   scripts=scripts)  # fmt: skip
    assert [f for f, _ in done.placed] == ["Junk"]
    assert _folder(mail, "INBOX") == [] and len(_folder(mail, "Junk")) == 1


def test_fileinto_with_flags_and_a_vacation(env):
    mail, scripts = env
    _script(scripts, 'require ["fileinto", "imap4flags", "vacation"];\r\n'
                     'vacation :days 1 "away";\r\n'
                     'fileinto :flags "\\\\Flagged" "Work";\r\n')  # fmt: skip
    done = deliver(mail, MESSAGE, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert [f for f, _ in done.placed] == ["Work"]
    (info,) = mail.user(ALICE).folder("Work").messages()
    assert "\\Flagged" in info.flags
    (reply,) = done.vacations
    assert reply.recipient == "a@other.test" and reply.sender == ""
    again = deliver(mail, MESSAGE, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert again.vacations == ()  # once per :days


def test_reject_is_a_permanent_550_5_7_1_and_files_nothing(env):
    mail, scripts = env
    _script(scripts, 'require "reject";\r\nreject "not here";\r\n')
    with pytest.raises(PermanentFailure) as info:
        deliver(mail, MESSAGE, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert (info.value.code, info.value.enhanced, str(info.value)) == (550, "5.7.1", "not here")
    assert _folder(mail, "INBOX") == []


def test_redirect_refused_when_the_target_already_had_it(env):
    mail, scripts = env
    _script(scripts, 'redirect "bob@local.test";\r\n')
    done = deliver(mail, MESSAGE, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert done.redirects == ("bob@local.test",) and done.placed == ()
    looped = redirect_copy(MESSAGE, "bob@local.test")
    done = deliver(mail, looped, sender="a@other.test", recipient=ALICE, scripts=scripts)
    assert done.redirects == ()
