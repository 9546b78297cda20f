"""The atheris targets run here on hypothesis input, so they stay importable and correct
without atheris installed."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

FUZZ = pathlib.Path(__file__).parents[2] / "fuzz"
TARGETS = sorted(FUZZ.glob("fuzz_imap_*.py"))


def _load(path: pathlib.Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: p.stem)
def test_fuzz_target_on_random_bytes(path: pathlib.Path) -> None:
    module = _load(path)
    assert callable(module.main)

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=200) | st.sampled_from(SEEDS))
    def run(data: bytes) -> None:
        module.test_one_input(data)

    run()


SEEDS = [
    b"a1 LOGIN {5}\r\nsmith sesame\r\n",
    b"* 1 FETCH (BODY[] {3}\r\nabc FLAGS (\\Seen))\r\n",
    b"a SEARCH OR (FROM x) NOT 1:*\r\n",
    b'("a" NIL (1 2) {2}\r\nxy)',
    b"&U,BTFw-/&ZeVnLIqe-",
]
