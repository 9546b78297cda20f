"""Sieve script storage: names cannot escape, one active script, atomic writes; the
state Sieve extensions keep (vacation, duplicate, notify). Both backends (SQLite files,
PostgreSQL tables: mailtool/store/pg/sieve_scripts.py) unless a test looks at files."""

from __future__ import annotations

import pytest

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.store.address import InvalidAddress
from mailtool.store.sieve_scripts import InvalidScriptName, SieveScripts
from mailtool.store.sieve_state import DUPLICATE_MAX_ENTRIES

U = "Me@Example.COM"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def scripts(backend, tmp_path, request):
    """``scripts()``: one more script store on the test's scripts (a process / a node)."""
    if backend == "sqlite":
        return lambda: SieveScripts(tmp_path)
    from mailtool.store.pg.sieve_scripts import PgSieveScripts

    db = request.getfixturevalue("pg_database")
    return lambda: PgSieveScripts(db)


def test_put_list_activate_get(scripts, backend, tmp_path):
    s = scripts()
    assert s.list(U) == [] and s.active_script(U) is None
    assert s.user_filters(U) == (None, {})
    s.put(U, "main", "keep;")
    s.put(U, "other", "discard;")
    s.activate(U, "main")
    assert [(i.name, i.active) for i in s.list(U)] == [("main", True), ("other", False)]
    assert s.active_script("me@example.com") == "keep;"
    if backend == "sqlite":
        assert (tmp_path / "sieve" / "example.com" / "me" / "scripts" / "main.sieve").is_file()
    assert s.usage(U) == (2, len("keep;") + len("discard;"))
    assert s.exists(U, "main") and not s.exists(U, "none") and s.get(U, "other") == "discard;"
    s.put(U, "main", "stop;")  # replaced, still active
    assert scripts().user_filters(U) == ("stop;", {})
    s.activate(U, None)
    assert s.active_name(U) is None


@pytest.mark.parametrize("backend", ["sqlite"])  # file names on disk
@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".", "..", "%2F", "ünï cødé"])
def test_hostile_names_stay_inside_the_user_directory(scripts, tmp_path, name):
    s = scripts()
    s.put(U, name, "keep;")
    [info] = s.list(U)
    assert info.name == name
    files = list((tmp_path / "sieve").rglob("*.sieve"))
    assert len(files) == 1 and files[0].parent == s.user_dir(U) / "scripts"


def test_unusual_names_round_trip(scripts):
    s = scripts()
    for name in ("../../etc/passwd", "ünï cødé", "%2F"):
        s.put(U, name, f"# {name}\nkeep;")
        assert s.get(U, name) == f"# {name}\nkeep;"
    assert sorted(i.name for i in s.list(U)) == sorted(["../../etc/passwd", "ünï cødé", "%2F"])


@pytest.mark.parametrize("name", ["", "a\nb", "tab\there", "x" * 200])
def test_invalid_names_are_refused(scripts, name):
    with pytest.raises(InvalidScriptName):
        scripts().put(U, name, "keep;")


def test_invalid_users_are_refused(scripts):
    with pytest.raises(InvalidAddress):
        scripts().put("../x@example.com", "a", "keep;")


def test_delete_rename_rules(scripts, backend, tmp_path):
    s = scripts()
    s.put(U, "a", "keep;")
    s.put(U, "b", "keep;")
    s.activate(U, "a")
    with pytest.raises(StoreError, match="active"):
        s.delete(U, "a")
    with pytest.raises(AlreadyExists):
        s.rename(U, "a", "b")
    with pytest.raises(NotFound):
        s.rename(U, "nope", "d")
    s.rename(U, "a", "c")
    assert s.active_name(U) == "c"
    s.delete(U, "b")
    with pytest.raises(NotFound):
        s.delete(U, "b")
    with pytest.raises(NotFound):
        s.activate(U, "nope")
    if backend == "sqlite":
        assert not list((tmp_path / "sieve").rglob(".tmp.*"))


def test_global_script_includes_and_settings(scripts):
    s = scripts()
    assert s.global_script() is None
    s.set_global("keep;")
    assert scripts().global_script() == "keep;"
    assert s.remove_global() and s.global_script() is None
    assert not s.remove_global()
    assert s.global_include("spam") is None
    s.set_global_include("spam", 'fileinto "Junk";')
    assert scripts().global_include("spam") == 'fileinto "Junk";'
    s.set_setting(U, "promotions", True)
    s.set_setting(U, "other", [1, "x"])
    assert scripts().settings(U) == {"promotions": True, "other": [1, "x"]}
    assert s.user_filters(U) == (None, {"promotions": True, "other": [1, "x"]})


def test_vacation_memory_answers_once_per_days_for_every_process(scripts):
    first, second = scripts().vacation_memory(U), scripts().vacation_memory(U)
    assert first.should_reply("Bob@x.test", "h", 7, now=1000.0)
    assert not second.should_reply("bob@x.test", "h", 7, now=1000.0 + 86400)  # another node
    assert second.should_reply("bob@x.test", "other", 7, now=1000.0)
    assert first.should_reply("bob@x.test", "h", 7, now=1000.0 + 7 * 86400)


def test_duplicate_and_notify_state(scripts):
    s = scripts()
    dup, other = s.duplicate_log(U), scripts().duplicate_log(U)
    assert not dup.seen("id1", now=10.0)
    dup.record("id1", expiry=100.0, now=10.0)
    assert other.seen("id1", now=50.0) and not other.seen("id1", now=100.0)
    notify = s.notify_log(U)
    notify.limit, notify.window = 2, 60.0
    assert notify.allow(0.0) and notify.allow(1.0) and not notify.allow(2.0)
    assert notify.allow(61.0), "the window slides"


@pytest.mark.parametrize("backend", ["postgresql"])  # filled through SQL, past the API
def test_duplicate_tracking_is_bounded(scripts):
    dup = scripts().duplicate_log(U)
    from mailtool.store.pg.reads import rows

    with dup.db.transaction() as conn:  # a full log, then one more through the API
        conn.execute(
            "INSERT INTO sieve_duplicate SELECT %s, 'k' || i, 1000 + i"
            " FROM generate_series(1, %s) i",
            (dup.address, DUPLICATE_MAX_ENTRIES),
        )
    dup.record("new", expiry=10**9, now=0.0)
    [(count, oldest)] = rows(dup.db, "SELECT count(*), min(expiry) FROM sieve_duplicate")
    assert count == DUPLICATE_MAX_ENTRIES and oldest == 1002, "the oldest expiry went first"
