"""Differential test: every script of the corpus x every message, through Pigeonhole's
``sieve-test`` and through mailtool; the action lists must be the same (issue 18 point 3).

Corpus: ``tests/data/sieve/rfc/*.sieve`` (the RFCs' examples, one file per example,
plus filter-editor style scripts) and ``tests/data/sieve/clients/**.sieve`` (scripts as
Roundcube, Thunderbird, SnappyMail and Nextcloud emit them), against the messages in
``tests/data/sieve/rfc/messages/``. What is compared is described in
:mod:`tests.mda.sieve.pigeonhole`: stores (folder + flags), redirects, reject, discard,
vacation, or "does not compile".

Deliberate differences are listed in :data:`DIFFERENCES` with the reason and what we
do instead; a listed pair must still differ (so a fixed Pigeonhole shows up here).
A script that needs an extension Pigeonhole 0.5 lacks (``special-use``, ``fcc``,
``ereject``) is compared on our side only in its own tests; here it is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mda.sieve.pigeonhole import SIEVE_TEST, Pigeonhole, mailtool_outcome
from tests.peers import require_tool

DATA = Path(__file__).resolve().parents[2] / "data" / "sieve"
INCLUDES = DATA / "rfc" / "includes"
MESSAGES = sorted((DATA / "rfc" / "messages").glob("*.eml"))
SCRIPTS = sorted(p for p in DATA.rglob("*.sieve") if "includes" not in p.relative_to(DATA).parts)

#: message -> (envelope sender, envelope recipient). sieve-test cannot be given the
#: null sender <>, so the bounce comes from mailer-daemon@ here.
ENVELOPES = {
    "personal": ("alice@example.org", "me@example.com"),
    "list": ("users-bounces@lists.example.org", "me@example.com"),
    "spam": ("promo@cheap-deals.example", "me@example.com"),
    "invoice": ("bob@example.net", "me+invoices@example.com"),
    "bounce": ("mailer-daemon@mail.example.net", "me@example.com"),
}

_WILDCARD = (
    "Pigeonhole 0.5.19 matches ANY value against a :matches key that starts with '?' and "
    "ends with '*' ('?xyz*' matches 'Invoice #4711'); RFC 5228 §2.7.1: '?' is exactly one "
    "character, so '?unch*' only matches values like 'lunch ...'"
)
_DATE_ALL_FIELDS = (
    "date on a repeated header (Received): Pigeonhole 0.5.19 reads only the first "
    "occurrence and ignores :index on date; we test every occurrence as header does and "
    "honour :index (RFC 5260 §6 lists date among the tests :index applies to)"
)
#: (script file name, message stem) -> (reason, what mailtool does)
DIFFERENCES: dict[tuple[str, str], tuple[str, frozenset[tuple[str, ...]]]] = {
    **{
        ("rfc5228-08-matches-wildcards.sieve", m): (_WILDCARD, frozenset({("store", "INBOX", "")}))
        for m in ("bounce", "invoice", "list", "spam")
    },
    ("rfc5260-index.sieve", "personal"): (
        _DATE_ALL_FIELDS,
        frozenset(
            {
                ("store", "first-mx", ""),
                ("store", "last-pc.example.org", ""),
                ("store", "second-hop", ""),
            }
        ),
    ),
}

PAIRS = [(s, m) for s in SCRIPTS for m in MESSAGES]


def test_the_corpus_is_big_enough():
    assert len(PAIRS) >= 150
    assert {m.stem for m in MESSAGES} == set(ENVELOPES)


@pytest.fixture(scope="module")
def pigeonhole():
    require_tool("sieve-test")
    runner = Pigeonhole(INCLUDES)
    yield runner
    runner.close()


def _id(pair: tuple[Path, Path]) -> str:
    script, message = pair
    return f"{script.relative_to(DATA)}-{message.stem}"


@pytest.mark.parametrize("pair", PAIRS, ids=[_id(p) for p in PAIRS])
def test_same_actions_as_pigeonhole(pigeonhole, pair):
    assert SIEVE_TEST is not None
    script_path, message_path = pair
    script = script_path.read_text()
    message = message_path.read_bytes()
    sender, recipient = ENVELOPES[message_path.stem]
    theirs = pigeonhole.run(script, message, sender, recipient)
    if isinstance(theirs, str):
        pytest.skip(f"Pigeonhole 0.5 has no {theirs!r} extension")
    ours = mailtool_outcome(script, message, sender, recipient, INCLUDES)
    listed = DIFFERENCES.get((script_path.name, message_path.stem))
    if listed is not None:
        reason, expected = listed
        assert ours == expected, reason
        assert theirs != ours, f"no longer differs, remove it from DIFFERENCES: {reason}"
        return
    assert ours == theirs
