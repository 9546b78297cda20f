"""Every store implementation offers every member of its protocol (mailtool/store/interfaces.py)
with parameters a caller written against the protocol can use: same names, same kinds
(positional / keyword-only), a default wherever the protocol has one, and nothing extra
that a caller would have to pass. A PostgreSQL class not written yet is skipped, not passed.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from mailtool.store import interfaces as si

#: protocol -> implementations ("module:Class"), SQLite first
IMPLEMENTATIONS: dict[type, list[str]] = {
    si.AccountStore: [
        "mailtool.store.accounts:AccountStore",
        "mailtool.store.pg.accounts:PgAccountStore",
    ],
    si.MailStore: ["mailtool.store.mailstore:MailStore", "mailtool.store.pg.mailstore:PgMailStore"],
    si.UserMailbox: ["mailtool.store.mailstore:UserMail", "mailtool.store.pg.mailstore:PgUserMail"],
    si.MailFolder: ["mailtool.store.mailstore:Folder", "mailtool.store.pg.folder:PgFolder"],
    si.MailIndex: ["mailtool.store.index:Index", "mailtool.store.pg.mailindex:PgMailIndex"],
    si.MetadataStore: ["mailtool.store.metadata:Metadata", "mailtool.store.pg.metadata:PgMetadata"],
    si.MaildropLock: ["mailtool.store.locks:FileLock", "mailtool.store.pg.locks:AdvisoryLock"],
    si.QueueStore: ["mailtool.store.queue:Queue", "mailtool.store.pg.queue:PgQueue"],
    si.SieveScriptStore: [
        "mailtool.store.sieve_scripts:SieveScripts",
        "mailtool.store.pg.sieve_scripts:PgSieveScripts",
    ],
    si.VacationMemory: ["mailtool.store.sieve_scripts:VacationLog"],
}

CASES = [(proto, impl) for proto, impls in IMPLEMENTATIONS.items() for impl in impls]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _load(target: str) -> type:
    module_name, _, name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            pytest.skip(f"{module_name} is not written yet")
        raise
    if not hasattr(module, name):
        pytest.skip(f"{target} is not written yet")
    return getattr(module, name)  # type: ignore[no-any-return]


def _methods(proto: type) -> dict[str, Any]:
    """The protocol's methods (its own, not typing.Protocol's machinery)."""
    return {
        name: value
        for name, value in vars(proto).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def _properties(proto: type) -> list[str]:
    names = [n for n, v in vars(proto).items() if isinstance(v, property)]
    return names + list(getattr(proto, "__annotations__", {}))


def incompatibilities(proto_fn: Any, impl_fn: Any) -> list[str]:
    """What a caller of ``proto_fn``'s signature could not do with ``impl_fn``."""
    want = list(inspect.signature(proto_fn).parameters.values())[1:]  # without self
    have_sig = inspect.signature(impl_fn)
    have = list(have_sig.parameters.values())
    if have and have[0].name in ("self", "cls"):
        have = have[1:]
    by_name = {p.name: p for p in have}
    kinds = {p.kind for p in have}
    problems = []
    for i, p in enumerate(want):
        if p.kind in _VARIADIC:
            if p.kind not in kinds:
                problems.append(f"no {'**' if p.kind == p.VAR_KEYWORD else '*'}{p.name}")
            continue
        q = by_name.get(p.name)
        if q is None:
            rest = p.VAR_KEYWORD if p.kind == p.KEYWORD_ONLY else p.VAR_POSITIONAL
            if rest not in kinds:
                problems.append(f"no parameter {p.name!r}")
            continue
        if p.kind in _POSITIONAL:
            if q.kind not in _POSITIONAL or have.index(q) != i:
                problems.append(f"{p.name!r} is not positional parameter {i + 1}")
        elif q.kind not in (q.KEYWORD_ONLY, q.POSITIONAL_OR_KEYWORD):
            problems.append(f"{p.name!r} cannot be passed by keyword")
        if p.default is not p.empty and q.default is q.empty:
            problems.append(f"{p.name!r} has no default")
    wanted = {p.name for p in want}
    for q in have:
        if q.name not in wanted and q.kind not in _VARIADIC and q.default is q.empty:
            problems.append(f"extra required parameter {q.name!r}")
    return problems


@pytest.mark.parametrize(("proto", "target"), CASES, ids=[f"{p.__name__}-{t}" for p, t in CASES])
def test_implementation_has_every_method(proto: type, target: str) -> None:
    cls = _load(target)
    problems = []
    for name, fn in _methods(proto).items():
        impl = inspect.getattr_static(cls, name, None)
        if impl is None:
            problems.append(f"{name}: missing")
            continue
        if isinstance(impl, (staticmethod, classmethod)):
            impl = impl.__func__
        if not callable(impl):
            problems.append(f"{name}: not a method")
            continue
        problems += [f"{name}: {p}" for p in incompatibilities(fn, impl)]
    assert not problems, f"{target} against {proto.__name__}: {problems}"


def test_the_check_finds_what_a_caller_would_trip_on() -> None:
    """The comparison itself: each kind of mismatch is reported (the test above cannot
    pass on an implementation that drops a parameter or adds a required one)."""

    class P:
        def f(self, a: int, b: int = 0, *, c: int = 0) -> None: ...

    def same(self: object, a: int, b: int = 0, *, c: int = 0, d: int = 1) -> None: ...
    def no_c(self: object, a: int, b: int = 0) -> None: ...
    def swapped(self: object, b: int, a: int) -> None: ...
    def extra(self: object, a: int, b: int = 0, *, c: int = 0, d: int) -> None: ...
    def b_required(self: object, a: int, b: int, *, c: int = 0) -> None: ...
    def kwargs(self: object, a: int, b: int = 0, **kw: int) -> None: ...

    assert incompatibilities(P.f, same) == []
    assert incompatibilities(P.f, kwargs) == []
    assert incompatibilities(P.f, no_c) == ["no parameter 'c'"]
    assert "'a' is not positional parameter 1" in incompatibilities(P.f, swapped)
    assert incompatibilities(P.f, extra) == ["extra required parameter 'd'"]
    assert incompatibilities(P.f, b_required) == ["'b' has no default"]


def test_sqlite_objects_have_the_protocols_attributes(tmp_path: Path) -> None:
    """Instance attributes and properties (UserMailbox.index, .metadata, .address,
    MailFolder.name, MailStore.accounts) on real SQLite objects."""
    from mailtool.store.accounts import AccountStore
    from mailtool.store.mailstore import MailStore
    from mailtool.store.paths import DataDir

    paths = DataDir(tmp_path)
    accounts = AccountStore(paths.accounts_db)
    accounts.add_domain("a.test")
    accounts.add_user("u@a.test", "pw-pw-pw-pw")
    store = MailStore(paths.root, accounts=accounts)
    try:
        mail = store.user("u@a.test", create=True)
        objects = {
            si.MailStore: store,
            si.UserMailbox: mail,
            si.MailFolder: mail.folder("INBOX"),
        }
        for proto, obj in objects.items():
            missing = [n for n in _properties(proto) if not hasattr(obj, n)]
            assert not missing, f"{type(obj).__name__} lacks {missing} of {proto.__name__}"
        assert mail.folder("INBOX").name == "INBOX"
        assert store.accounts is accounts
    finally:
        store.close()
        accounts.close()
