"""enotify + mailto (RFC 5435 / RFC 5436): what is sent, to whom, and when nothing is."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import Keep, Vacation
from mailtool.mda.sieve.ext_enotify import MAX_NOTIFICATIONS, NOTIFY_LOG, parse_mailto
from mailtool.mda.sieve.message import MessageView
from mailtool.store.sieve_state import NotifyLog
from tests.mda.sieve.helpers import assert_refused, msg, sieve

MAIL = msg({"From": "Boss <boss@example.org>", "To": "me@example.com", "Subject": "Budget"})

# RFC 5435 §9 example 1 (with the header test the RFC writes in the examples before it)
RFC_EX = """require ["enotify", "fileinto", "variables"];
if header :contains "from" "boss@example.org" {
    notify :importance "1"
        :message "This is probably very important"
                    "mailto:alm@example.com";
    # Don't send any further notifications
    stop;
}"""


def sent(actions: list) -> list[Vacation]:
    return [a for a in actions if isinstance(a, Vacation)]


def test_rfc5435_example_notification_message():
    actions = sieve(RFC_EX, MAIL)
    (note,) = sent(actions)
    assert note.recipient == "alm@example.com" and note.sender == ""  # null sender
    assert actions[-1] == Keep(implicit=True)
    view = MessageView(note.message)
    assert view.headers("Subject") == ["This is probably very important"]
    assert view.headers("Importance") == ["high"]
    assert view.headers("Auto-Submitted") == ['auto-notified; owner-email="me@example.com"']
    assert view.headers("To") == ["alm@example.com"]


def test_mailto_uri_headers_subject_body_and_several_recipients():
    uri = ("mailto:a@example.net,b@example.net?cc=c%40example.net&subject=New%20mail"
           "&body=See%20INBOX&from=evil@x.test")  # fmt: skip
    script = f'require "enotify"; notify :from "me@example.com" "{uri}";'
    notes = sent(sieve(script, MAIL))
    assert [n.recipient for n in notes] == ["a@example.net", "b@example.net", "c@example.net"]
    view = MessageView(notes[0].message)
    assert view.headers("Subject") == ["New mail"] and view.headers("From") == ["me@example.com"]
    assert b"See INBOX" in notes[0].message and b"evil" not in notes[0].message


def test_default_summary_names_sender_and_subject():
    (note,) = sent(sieve('require "enotify"; notify "mailto:me@phone.example";', MAIL))
    assert MessageView(note.message).headers("Subject") == ["New mail: Budget"]
    assert b"boss@example.org" in note.message


def test_never_about_automatic_mail_and_never_to_a_list_sender():
    script = 'require "enotify"; notify "mailto:boss@example.org,me@phone.example";'
    auto = msg({"From": "boss@example.org", "Auto-Submitted": "auto-replied"})
    assert sent(sieve(script, auto)) == []
    listed = msg({"From": "boss@example.org", "List-Id": "<l.example.org>"})
    assert [n.recipient for n in sent(sieve(script, listed))] == ["me@phone.example"]
    assert len(sent(sieve(script, MAIL))) == 2


def test_one_notification_per_uri_and_a_bound_per_delivery():
    twice = 'require "enotify"; notify "mailto:a@example.net"; notify "mailto:a@example.net";'
    assert len(sent(sieve(twice, MAIL))) == 1
    many = 'require "enotify";\n' + "".join(
        f'notify "mailto:n{i}@example.net";\n' for i in range(MAX_NOTIFICATIONS + 1)
    )
    with pytest.raises(Exception, match=f"more than {MAX_NOTIFICATIONS} notifications"):
        sieve(many, MAIL)


def test_rate_limited_per_user(tmp_path):
    log = NotifyLog(tmp_path / "notify.json", limit=2, window=3600)
    script = 'require "enotify"; notify "mailto:me@phone.example";'
    counts = [len(sent(sieve(script, MAIL, now=1000.0 + i, services={NOTIFY_LOG: log})))
              for i in range(4)]  # fmt: skip
    assert counts == [1, 1, 0, 0]
    assert len(sent(sieve(script, MAIL, now=1000.0 + 3601, services={NOTIFY_LOG: log}))) == 1


def test_tests_valid_notify_method_and_capability():
    script = """require ["enotify", "fileinto"];
if valid_notify_method ["mailto:a@example.net", "mailto:b@example.net?subject=x"] {
    fileinto "valid";
}
if valid_notify_method "xmpp:a@example.net" { fileinto "xmpp"; }
if valid_notify_method "mailto:" { fileinto "empty"; }
if notify_method_capability "mailto:a@example.net" "Online" "maybe" { fileinto "maybe"; }
if notify_method_capability "mailto:a@example.net" "online" ["yes", "no"] { fileinto "known"; }"""
    assert [a.folder for a in sieve(script, MAIL)] == ["valid", "maybe"]


def test_parse_mailto():
    assert parse_mailto("mailto:a%2Bb@example.net") == (["a+b@example.net"], {})
    assert parse_mailto("mailto:a@example.net?subject") is None
    assert parse_mailto("mailto:" + "a" * 3000 + "@example.net") is None


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (
            'require "enotify";\nnotify "xmpp:me@example.com";',
            "line 2, column 1: notify: 'xmpp:me@example.com' uses the unsupported method \"xmpp\"",
        ),
        ('require "enotify"; notify "mailto:not an address";', "is not a valid mailto URI"),
        (
            'require "enotify"; notify :importance "4" "mailto:a@example.net";',
            ':importance is "1", "2" or "3"',
        ),
        ('require "enotify"; notify :from "nobody" "mailto:a@example.net";', "is not an address"),
        ('notify "mailto:a@example.net";', 'needs require "enotify"'),
    ],
)
def test_errors_name_line_and_column(script, error):
    assert_refused(script, error)


def test_a_variable_uri_that_is_not_valid_fails_at_run_time():
    script = 'require ["enotify", "variables"]; set "u" "sms:123"; notify "${u}";'
    with pytest.raises(Exception, match="not a mailto URI"):
        sieve(script, MAIL)


def test_set_encodeurl_builds_a_mailto_uri():
    # RFC 5435 §6 example: the subject of the message into the URI's body
    script = """require ["enotify", "variables"];
set :encodeurl "body_param" "Safe body&evil=evilbody";
notify "mailto:tim@example.com?body=${body_param}";"""
    (note,) = sent(sieve(script, MAIL))
    assert b"Safe body&evil=evilbody" in note.message and b"evil@" not in note.message
    assert_refused(
        'require "variables"; set :encodeurl "a" "b";', ':encodeurl needs require "enotify"'
    )
