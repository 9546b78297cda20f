"""atheris target: Sieve scripts parse or fail with a SieveError naming line and column."""

from __future__ import annotations

import sys

from mailtool.mda.sieve import SieveError, check


def test_one_input(data: bytes) -> None:
    try:
        check(data)
    except SieveError as exc:
        assert exc.line >= 1 and exc.column >= 1


def main() -> None:
    import atheris

    atheris.instrument_all()  # coverage feedback for the already-imported parser
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
