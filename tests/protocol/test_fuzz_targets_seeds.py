"""Every atheris target in tests/fuzz/ runs on its seeds in the normal suite, without
atheris: a target that no longer imports, whose seeds fail its own checks, or that
imports atheris before ``main()`` fails here rather than only under ``make fuzz``.
The runner's libFuzzer log summary is checked on a real log excerpt."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from tests.fuzz.run_all import summarize

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
TARGETS = sorted(p.stem for p in FUZZ.glob("fuzz_*.py"))


def _load(name: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    # None in sys.modules makes "import atheris" raise ImportError, installed or not
    monkeypatch.setitem(sys.modules, "atheris", None)
    monkeypatch.delitem(sys.modules, f"tests.fuzz.{name}", raising=False)
    return importlib.import_module(f"tests.fuzz.{name}")


def test_the_attack_surface_has_targets() -> None:
    wanted = {
        "fuzz_sieve", "fuzz_spf", "fuzz_dkim", "fuzz_authrecords", "fuzz_managesieve_wire",
        "fuzz_smtp_session", "fuzz_imap_session", "fuzz_pop3_session",
        "fuzz_managesieve_session",
    }
    assert wanted <= set(TARGETS)


@pytest.mark.parametrize("name", TARGETS)
def test_target_runs_its_seeds_without_atheris(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load(name, monkeypatch)
    assert callable(module.main)
    seeds = module.seeds()
    assert 3 <= len(seeds) <= 80 and all(isinstance(s, bytes) for s in seeds)
    for seed in seeds:
        module.test_one_input(seed)
    # and the shortest inputs a fuzzer starts from
    for data in (b"", b"\x00", b"\xff" * 3, b"\r\n"):
        module.test_one_input(data)


LOG = """\
INFO: instrumented 198 functions of mailtool
INFO: seed corpus: files: 21 min: 25b max: 377b total: 2843b rss: 47Mb
#22	INITED cov: 241 ft: 710 corp: 20/2811b exec/s: 0 rss: 47Mb
#4096	pulse  cov: 280 ft: 950 corp: 80/5Kb lim: 377 exec/s: 2048 rss: 48Mb
#1000000	DONE   cov: 301 ft: 1290 corp: 150/9Kb lim: 4096 exec/s: 3333 rss: 52Mb
Done 1000000 runs in 300 second(s)
stat::number_of_executed_units: 1000000
stat::average_exec_per_sec:     3333
stat::new_units_added:          412
"""


def test_summary_reads_a_libfuzzer_log() -> None:
    summary = summarize("fuzz_sieve", LOG, 300.4, 0)
    assert (summary.execs, summary.exec_per_s, summary.corpus) == (1000000, 3333, 150)
    assert (summary.cov, summary.ft, summary.crashes) == ((241, 301), (710, 1290), 0)
    assert "cov 241 -> 301, ft 710 -> 1290" in summary.line()
    crashed = summarize("fuzz_sieve", LOG + "=== Uncaught Python exception: ===\n", 3, 1)
    assert crashed.crashes == 1
