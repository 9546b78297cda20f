"""Every conformance script: each module here defines ``SCRIPTS`` (a list of
:class:`~tests.conformance.harness.Script`) and may define ``DIFFERENCES``
(``"script#step" -> RFC reason`` for a deliberate difference). Nothing to register:
a new module is picked up by :func:`load`."""

from __future__ import annotations

import importlib
import pkgutil

from tests.conformance.harness import Script


def load() -> tuple[list[Script], dict[str, str]]:
    """All scripts of all modules (names must be unique) and all deliberate differences."""
    scripts: list[Script] = []
    differences: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        scripts += getattr(module, "SCRIPTS", [])
        differences.update(getattr(module, "DIFFERENCES", {}))
    names = [s.name for s in scripts]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"script names used twice: {sorted(duplicates)}"
    return scripts, differences
