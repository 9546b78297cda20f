"""atheris target: Sieve scripts parse or fail with a SieveError naming line and column."""

from __future__ import annotations

from mailtool.mda.sieve import SieveError, check
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    try:
        check(data)
    except SieveError as exc:
        assert exc.line >= 1 and exc.column >= 1


def seeds() -> list[bytes]:
    return list(corpus.sieve_scripts())


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
