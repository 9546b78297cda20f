"""Global then user scripts, fallbacks that never lose mail, the junk and promotions
rules, vacation memory, and filing into a real MailStore."""

from __future__ import annotations

import email

import pytest

from mailtool.errors import QuotaExceeded
from mailtool.mda.filtering import (
    DEFAULT_GLOBAL_SCRIPT,
    Decision,
    Delivery,
    file_message,
    filter_for_user,
    run_filters,
)
from mailtool.mda.sieve import Envelope
from mailtool.store.mailstore import MailStore
from mailtool.store.sieve_scripts import SieveScripts
from tests.mda.sieve.helpers import msg

ENV = Envelope("friend@example.org", "me@example.com")
PLAIN = msg({"From": "friend@example.org", "To": "me@example.com", "Subject": "hi",
             "Message-ID": "<m1@example.org>"})  # fmt: skip
BULK = msg({"From": "news@shop.test", "To": "me@example.com", "List-Unsubscribe": "<x>"})


def folders(decision: Decision) -> list[str]:
    return [d.folder for d in decision.deliveries]


def test_no_scripts_keeps_in_inbox():
    assert folders(run_filters(None, None, ENV, PLAIN)) == ["INBOX"]


@pytest.mark.parametrize(
    "script",
    [
        'require "fileinto";\nif header :is "subject" "hi" {\n  fileint "x";\n}',  # syntax
        'require "fileinto"; fileinto "x"; redirect "bad address ${x}";',  # runtime
        'require ["reject", "fileinto"]; fileinto "a"; reject "no";',  # incompatible actions
    ],
)
def test_a_broken_user_script_never_loses_mail(script, caplog):
    decision = run_filters(script, None, ENV, PLAIN)
    assert folders(decision) == ["INBOX"]
    assert decision.errors and decision.errors[0].startswith("user script: ")
    assert "sieve.error" in caplog.text


def test_syntax_error_is_reported_with_line_and_column():
    decision = run_filters('keep;\nfileint "x";', None, ENV, PLAIN)
    assert decision.errors == ["user script: line 2, column 1: 'fileint' is an unknown command"]


def test_global_runs_first_and_its_stop_skips_the_user_script():
    glob = 'require "fileinto"; if header :is "subject" "hi" { fileinto "G"; stop; }'
    user = 'require "fileinto"; fileinto "U";'
    assert folders(run_filters(user, glob, ENV, PLAIN)) == ["G"]
    other = msg({"Subject": "other"})
    assert folders(run_filters(user, glob, ENV, other)) == ["U"]


def test_broken_global_script_still_runs_the_user_script():
    decision = run_filters('require "fileinto"; fileinto "U";', "nonsense;", ENV, PLAIN)
    assert folders(decision) == ["U"]
    assert decision.errors[0].startswith("global script: ")


def test_user_error_keeps_the_global_scripts_actions():
    glob = 'require ["fileinto", "copy"]; fileinto :copy "Archive";'
    decision = run_filters('redirect "${nope}";', glob, ENV, PLAIN)
    assert folders(decision) == ["Archive", "INBOX"]


def test_default_global_script_files_spam_into_junk():
    spam = msg({"X-Spam-Flag": "YES", "Subject": "buy"})
    assert folders(run_filters(None, DEFAULT_GLOBAL_SCRIPT, ENV, spam)) == ["Junk"]
    assert folders(run_filters(None, DEFAULT_GLOBAL_SCRIPT, ENV, PLAIN)) == ["INBOX"]


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Unsubscribe": "<mailto:u@shop.test>"},
        {"List-Id": "News <news.shop.test>"},
        {"Precedence": "bulk"},
    ],
)
def test_promotions_rule_takes_bulk_mail_when_switched_on(headers):
    message = msg({"From": "news@shop.test", **headers})
    assert folders(run_filters(None, None, ENV, message, promotions=True)) == ["Promotions"]
    assert folders(run_filters(None, None, ENV, message, promotions=False)) == ["INBOX"]


def test_promotions_rule_leaves_explicit_decisions_alone():
    user = 'require "fileinto"; if exists "List-Unsubscribe" { fileinto "Shops"; }'
    assert folders(run_filters(user, None, ENV, BULK, promotions=True)) == ["Shops"]
    assert folders(run_filters("keep;", None, ENV, BULK, promotions=True)) == ["INBOX"]
    assert folders(run_filters(None, None, ENV, PLAIN, promotions=True)) == ["INBOX"]


# ---------------------------------------------------------------- vacation

VACATION = 'require "vacation"; vacation :days 3 :subject "Away" "I am away.";'


def test_vacation_reply_once_per_days(tmp_path):
    scripts = SieveScripts(tmp_path)
    memory = scripts.vacation_memory("me@example.com")
    day = 86400.0
    first = run_filters(VACATION, None, ENV, PLAIN, vacation_memory=memory, now=1000 * day)
    assert folders(first) == ["INBOX"]  # vacation does not cancel the implicit keep
    [reply] = first.vacations
    assert reply.recipient == "friend@example.org" and reply.sender == ""
    parsed = email.message_from_bytes(reply.message)
    assert parsed["Subject"] == "Away"
    assert parsed["To"] == "friend@example.org"
    assert parsed["From"] == "me@example.com"
    assert parsed["In-Reply-To"] == "<m1@example.org>"
    assert parsed["Auto-Submitted"].startswith("auto-replied")
    assert "I am away." in parsed.get_payload()
    again = run_filters(VACATION, None, ENV, PLAIN, vacation_memory=memory, now=1001 * day)
    assert again.vacations == []
    later = run_filters(VACATION, None, ENV, PLAIN, vacation_memory=memory, now=1003.5 * day)
    assert len(later.vacations) == 1


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("", {}),  # null sender: a bounce
        ("owner-list@example.org", {}),
        ("list-request@example.org", {}),
        ("MAILER-DAEMON@example.org", {}),
        ("friend@example.org", {"List-Id": "<l.example.org>"}),
        ("friend@example.org", {"Precedence": "bulk"}),
        ("friend@example.org", {"Auto-Submitted": "auto-replied"}),
        ("friend@example.org", {"To": "someone-else@example.com"}),  # not sent to me by name
    ],
)
def test_vacation_never_answers_lists_bulk_or_null_senders(sender, headers):
    message = msg({"To": "me@example.com", "Subject": "x", **headers})
    decision = run_filters(VACATION, None, Envelope(sender, "me@example.com"), message)
    assert decision.vacations == []
    assert folders(decision) == ["INBOX"]


def test_vacation_addresses_count_as_mine():
    script = 'require "vacation"; vacation :addresses "alias@example.com" "away";'
    message = msg({"To": "alias@example.com"})
    assert len(run_filters(script, None, ENV, message).vacations) == 1


def test_rfc5230_mime_and_variables_examples():
    script = """require ["vacation", "variables"];
if header :matches "subject" "*" {
    vacation :subject "Automatic response to: ${1}"
             "I'm away";
}"""
    [reply] = run_filters(script, None, ENV, PLAIN).vacations
    assert email.message_from_bytes(reply.message)["Subject"] == "Automatic response to: hi"
    mime = """require "vacation";
vacation :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<HTML><BODY><P>I'm at the beach relaxing.</BODY></HTML>

--foo--
.
;"""
    [reply] = run_filters(mime, None, ENV, PLAIN).vacations
    parsed = email.message_from_bytes(reply.message)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.get_payload()] == ["text/plain", "text/html"]


# ---------------------------------------------------------------- store round trip


@pytest.fixture
def mail(mda_stores):
    """me@example.com's mail on this test's backend (tests/mda/conftest.py)."""
    mda_stores.accounts.add_domain("example.com")
    mda_stores.accounts.add_user("me@example.com", "pw-123456")
    return mda_stores.mail.user("me@example.com", create=True)


def test_file_message_creates_folders_and_sets_flags(mail):
    decision = Decision(deliveries=[Delivery("Lists/ietf", frozenset({"\\Seen", "$Work"})),
                                    Delivery("INBOX")])  # fmt: skip
    done = file_message(mail, decision, PLAIN)
    assert [f for f, _ in done] == ["Lists/ietf", "INBOX"]
    info = mail.folder("Lists/ietf").message(done[0][1])
    assert {"\\Seen", "$Work"} <= set(info.flags)


def test_file_message_bad_folder_falls_back_to_inbox(mail):
    done = file_message(mail, Decision(deliveries=[Delivery("a//b")]), PLAIN)
    assert [f for f, _ in done] == ["INBOX"]


def test_filter_for_user_reads_the_store(mda_stores, mail):
    scripts = mda_stores.sieve_scripts
    scripts.put("me@example.com", "main", 'require "fileinto"; fileinto "Filed";')
    assert folders(filter_for_user(scripts, "me@example.com", ENV, PLAIN)) == ["INBOX"]
    scripts.activate("me@example.com", "main")
    decision = filter_for_user(scripts, "me@example.com", ENV, PLAIN)
    assert folders(decision) == ["Filed"]
    spam = msg({"X-Spam-Flag": "YES"})
    assert folders(filter_for_user(scripts, "me@example.com", ENV, spam)) == ["Junk"]
    scripts.activate("me@example.com", None)
    scripts.set_setting("me@example.com", "promotions", True)
    assert folders(filter_for_user(scripts, "me@example.com", ENV, BULK)) == ["Promotions"]
    file_message(mail, filter_for_user(scripts, "me@example.com", ENV, BULK), BULK)
    assert "Promotions" in mail.folders()


def test_file_message_checks_quota_before_writing(tmp_path):
    from mailtool.store.accounts import AccountStore, Quota

    accounts = AccountStore.in_data_dir(tmp_path)
    accounts.add_domain("example.com")
    accounts.add_user("me@example.com", "pw-123456", quota=Quota(messages=1))
    store = MailStore(tmp_path, accounts=accounts)
    user = store.user("me@example.com")
    two = Decision(deliveries=[Delivery("INBOX"), Delivery("Archive")])
    with pytest.raises(QuotaExceeded):
        file_message(user, two, PLAIN)
    assert user.usage().messages == 0
    store.close()
    accounts.close()


def test_limits_from_config():
    from mailtool.config import SieveConfig
    from mailtool.mda.filtering import limits_from_config

    limits = limits_from_config(SieveConfig(max_redirects=1))
    decision = run_filters('redirect "a@b.test"; redirect "c@d.test";', None, ENV, PLAIN,
                           limits=limits)  # fmt: skip
    assert folders(decision) == ["INBOX"] and decision.redirects == []
    assert "more than 1 redirects" in decision.errors[0]


def test_deliver_filtered_files_and_reports_what_to_queue(tmp_path):
    from mailtool.errors import PermanentFailure
    from mailtool.mda.filtering import deliver_filtered

    store = MailStore(tmp_path)
    store.user("me@example.com", create=True)
    scripts = SieveScripts(tmp_path)
    script = """require ["fileinto", "copy", "vacation", "reject"];
if header :is "subject" "go away" { reject "Not interested."; stop; }
fileinto "Filed"; redirect :copy "other@example.net"; vacation "away";"""
    scripts.put("me@example.com", "s", script)
    scripts.activate("me@example.com", "s")
    filed = deliver_filtered(store, scripts, PLAIN, sender="friend@example.org",
                             recipient="me@example.com")  # fmt: skip
    assert [f for f, _ in filed.placed] == ["Filed"]
    assert filed.redirects == ["other@example.net"] and len(filed.vacations) == 1
    uid = filed.placed[0][1]
    assert store.user("me@example.com").folder("Filed").read_bytes(uid) == PLAIN
    with pytest.raises(PermanentFailure) as info:
        deliver_filtered(store, scripts, msg({"Subject": "go away"}), sender="x@example.org",
                         recipient="me@example.com")  # fmt: skip
    assert (info.value.code, info.value.enhanced, str(info.value)) == (
        550,
        "5.7.1",
        "Not interested.",
    )
    store.close()
