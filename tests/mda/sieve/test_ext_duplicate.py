"""duplicate (RFC 7352): ids tracked per user, bounded, recorded only on success."""

from __future__ import annotations

import json

import pytest

from mailtool.mda.sieve import Discard, FileInto, Keep, SieveSyntaxError, check
from mailtool.mda.sieve.ext_duplicate import DEFAULT_SECONDS, DUPLICATE_LOG, MAX_SECONDS
from mailtool.store import sieve_state
from mailtool.store.sieve_state import DuplicateLog
from tests.mda.sieve.helpers import msg, sieve

NOW = 1_800_000_000.0

# RFC 7352 §3 example 1
RFC_EX1 = """require ["duplicate", "fileinto", "mailbox"];
if duplicate {
  fileinto :create "Trash/Duplicate";
}"""
# RFC 7352 §3 example 2 (a notification once per 30 minutes per sender; here a fileinto)
RFC_EX3 = """require ["duplicate", "variables", "fileinto"];
if header :matches "subject" "ALERT: *" {
  if duplicate :seconds 60 :uniqueid "${1}" {
    fileinto "Alerts/Repeat";
  } else {
    fileinto "Alerts";
  }
}"""


def run(script: str, message: bytes, log: DuplicateLog, now: float = NOW) -> list:
    return sieve(script, message, now=now, services={DUPLICATE_LOG: log})


@pytest.fixture
def log(tmp_path):
    return DuplicateLog(tmp_path / "duplicate.json")


def test_rfc7352_example_same_message_id_twice(log):
    first = msg({"Message-ID": "<a@example.org>"})
    assert run(RFC_EX1, first, log) == [Keep(implicit=True)]
    assert run(RFC_EX1, first, log, NOW + 10) == [FileInto("Trash/Duplicate", create=True)]
    assert run(RFC_EX1, msg({"Message-ID": "<b@example.org>"}), log) == [Keep(implicit=True)]


def test_default_period_and_without_last_it_runs_from_the_first_sighting(log):
    m = msg({"Message-ID": "<a@example.org>"})
    run(RFC_EX1, m, log)
    assert run(RFC_EX1, m, log, NOW + DEFAULT_SECONDS - 1)[0].folder == "Trash/Duplicate"
    assert run(RFC_EX1, m, log, NOW + DEFAULT_SECONDS + 1) == [Keep(implicit=True)]


def test_uniqueid_seconds_and_last(log):
    alert = msg({"Subject": "ALERT: disk full"})
    assert run(RFC_EX3, alert, log)[0].folder == "Alerts"
    assert run(RFC_EX3, alert, log, NOW + 30)[0].folder == "Alerts/Repeat"
    assert run(RFC_EX3, alert, log, NOW + 61)[0].folder == "Alerts"
    last = 'require "duplicate"; if duplicate :last :seconds 60 :header "X-Id" { discard; }'
    x = msg({"X-Id": "7"})
    run(last, x, log)
    for step in (50, 100, 150):  # each sighting pushes the expiry on
        assert run(last, x, log, NOW + step) == [Discard()]
    assert run(last, x, log, NOW + 300) == [Keep(implicit=True)]


def test_handles_are_independent_and_no_id_is_never_a_duplicate(log):
    a = 'require "duplicate"; if duplicate :handle "a" { discard; }'
    b = 'require "duplicate"; if duplicate :handle "b" { discard; }'
    m = msg({"Message-ID": "<x@example.org>"})
    run(a, m, log)
    assert run(b, m, log) == [Keep(implicit=True)]
    assert run(a, m, log) == [Discard()]
    no_id = msg({"Subject": "x"})
    run(a, no_id, log)
    assert run(a, no_id, log) == [Keep(implicit=True)]


def test_nothing_is_recorded_when_the_script_fails(log):
    failing = 'require ["duplicate"]; if duplicate { discard; } redirect "bad address@";'
    with pytest.raises(SieveSyntaxError):
        check(failing)
    failing = 'require ["duplicate", "variables"]; set "a" "x y"; if duplicate {} redirect "${a}";'
    m = msg({"Message-ID": "<f@example.org>"})
    with pytest.raises(Exception, match="not an address"):
        run(failing, m, log)
    assert not log.path.exists()


def test_seconds_are_capped_and_the_file_is_bounded(log, monkeypatch):
    long = 'require "duplicate"; if duplicate :seconds 99999999 { discard; }'
    m = msg({"Message-ID": "<c@example.org>"})
    run(long, m, log)
    (expiry,) = json.loads(log.path.read_text()).values()
    assert expiry == NOW + MAX_SECONDS
    monkeypatch.setattr(sieve_state, "DUPLICATE_MAX_ENTRIES", 5)
    for i in range(12):
        run(long, msg({"Message-ID": f"<{i}@example.org>"}), log, NOW + i)
    data = json.loads(log.path.read_text())
    assert len(data) == 5 and max(data.values()) == NOW + 11 + MAX_SECONDS


def test_errors_name_line_and_column():
    with pytest.raises(SieveSyntaxError, match=r'line 1, column 4: .* needs require "duplicate"'):
        check("if duplicate { discard; }")
    with pytest.raises(SieveSyntaxError, match="conflicts"):
        check('require "duplicate";\nif duplicate :header "X" :uniqueid "y" { discard; }')
