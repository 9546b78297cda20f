"""What every atheris target shares: instrumenting mailtool for coverage, writing the
target's seeds, and starting libFuzzer on a work corpus.

A target is ``tests/fuzz/fuzz_<name>.py`` with ``test_one_input(data: bytes)``,
``seeds() -> list[bytes]`` and ``main()`` calling :func:`fuzz`. It imports
atheris only in ``main()`` (through here), so the normal test suite runs every
target on its seeds without atheris installed (tests/protocol/test_fuzz_targets_seeds.py).

Run one target from the repository root::

    .venv/bin/python -m tests.fuzz.fuzz_sieve -runs=1000000

With no corpus directory on the command line, libFuzzer reads
``.fuzz/corpus/<name>/`` (where it also writes the new inputs it finds) and the
seeds, written to ``.fuzz/seeds/<name>/`` at each start; a crash is saved as
``.fuzz/crashes/<name>-crash-<sha1>`` and replayed by passing that file instead of a
directory. ``.fuzz/`` ignores itself in git.

Why instrument by hand: ``atheris.instrument_imports()`` only sees modules
imported inside it, and the targets import mailtool at the top (so the suite can
load them); ``atheris.instrument_all()`` would also instrument the standard
library and dilute the coverage figures. :func:`instrument` patches the
bytecode of every function already loaded from the packages named (mailtool
by default), after one pass over the seeds has imported whatever mailtool
imports lazily.
"""

from __future__ import annotations

import gc
import hashlib
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
WORK = ROOT / ".fuzz"


def data_files(folder: str, pattern: str = "*") -> list[bytes]:
    """The contents of ``tests/data/<folder>/<pattern>``, sorted by name."""
    return [p.read_bytes() for p in sorted((DATA / folder).glob(pattern)) if p.is_file()]


def instrument(packages: tuple[str, ...] = ("mailtool",)) -> int:
    """Add atheris coverage and comparison tracing to every loaded function of ``packages``;
    returns how many code objects were patched."""
    import atheris

    patched: dict[types.CodeType, types.CodeType] = {}
    prefixes = tuple(p + "." for p in packages)
    for obj in gc.get_objects():
        if not isinstance(obj, types.FunctionType):
            continue
        module = getattr(obj, "__module__", None) or ""
        if module not in packages and not module.startswith(prefixes):
            continue
        code = obj.__code__
        if code not in patched:
            patched[code] = atheris.patch_code(code, True, True)
        obj.__code__ = patched[code]
    return len(patched)


def _write_seeds(name: str, seeds: list[bytes]) -> Path:
    folder = WORK / "seeds" / name
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        path = folder / hashlib.sha1(seed).hexdigest()
        if not path.exists():
            path.write_bytes(seed)
    return folder


def fuzz(
    test_one_input: Callable[[bytes], None],
    seeds: Iterable[bytes],
    *,
    packages: tuple[str, ...] = ("mailtool",),
) -> None:
    """Instrument, write the seeds, and hand over to libFuzzer (never returns)."""
    import atheris

    name = Path(sys.argv[0]).stem
    seeds = list(seeds)
    for seed in seeds:  # every seed must pass; this also runs mailtool's lazy imports
        test_one_input(seed)
    count = instrument(packages)
    print(f"INFO: instrumented {count} functions of {', '.join(packages)}", file=sys.stderr)
    WORK.mkdir(exist_ok=True)
    (WORK / ".gitignore").write_text("*\n")
    seed_dir = _write_seeds(name, seeds)
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus dir or input file given
        corpus = WORK / "corpus" / name
        corpus.mkdir(parents=True, exist_ok=True)
        args += [str(corpus), str(seed_dir)]
    if not any(a.startswith("-artifact_prefix=") for a in args):
        (WORK / "crashes").mkdir(exist_ok=True)
        args.insert(1, f"-artifact_prefix={WORK / 'crashes' / name}-")
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()
