"""Every conformance script against mailtool and a private Dovecot: the normalised
transcripts must be equal, except the steps listed in a module's ``DIFFERENCES``
(each with its RFC reason), which must differ (a listed difference that went away is
a stale entry)."""

from __future__ import annotations

import difflib

import pytest

from tests.conformance.conftest import Pair
from tests.conformance.harness import Script, normalise, run, seed, step_label
from tests.conformance.scripts import load

pytestmark = pytest.mark.peer
SCRIPTS, DIFFERENCES = load()


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script(script: Script, pair: Pair) -> None:
    seed(pair.theirs, script)
    seed(pair.ours, script)
    raw_theirs, raw_ours = run(pair.theirs, script), run(pair.ours, script)
    for who, raw in (("dovecot", raw_theirs), ("mailtool", raw_ours)):
        print(f"--- {who} (raw)", *(line[:300] for lines in raw for line in lines), sep="\n")
    theirs = normalise(raw_theirs, script.steps)
    ours = normalise(raw_ours, script.steps)
    expected, got, stale = [], [], []
    for i, (mine, dovecot) in enumerate(zip(ours, theirs, strict=False)):
        label = step_label(script, i)
        if label in DIFFERENCES:
            if mine == dovecot:
                stale.append(label)
            continue
        got += mine
        expected += dovecot
    assert len(ours) == len(theirs), (ours, theirs)
    diff = "\n".join(difflib.unified_diff(expected, got, "dovecot", "mailtool", lineterm=""))
    assert got == expected, f"{script.name}: normalised transcripts differ\n{diff}"
    assert not stale, f"listed in DIFFERENCES but equal now: {stale}"


def test_differences_name_existing_steps() -> None:
    labels = {step_label(s, i) for s in SCRIPTS for i in range(len(s.steps))}
    assert set(DIFFERENCES) <= labels, sorted(set(DIFFERENCES) - labels)
