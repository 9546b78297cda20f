"""Sieve script storage: names cannot escape, one active script, atomic writes."""

from __future__ import annotations

import pytest

from mailtool.errors import AlreadyExists, NotFound, StoreError
from mailtool.store.sieve_scripts import InvalidScriptName, SieveScripts

U = "Me@Example.COM"


def test_put_list_activate_get(tmp_path):
    s = SieveScripts(tmp_path)
    assert s.list(U) == [] and s.active_script(U) is None
    s.put(U, "main", "keep;")
    s.put(U, "other", "discard;")
    s.activate(U, "main")
    assert [(i.name, i.active) for i in s.list(U)] == [("main", True), ("other", False)]
    assert s.active_script("me@example.com") == "keep;"
    assert (tmp_path / "sieve" / "example.com" / "me" / "scripts" / "main.sieve").is_file()
    assert s.usage(U) == (2, len("keep;") + len("discard;"))
    s.activate(U, None)
    assert s.active_name(U) is None


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".", "..", "%2F", "ünï cødé"])
def test_hostile_names_stay_inside_the_user_directory(tmp_path, name):
    s = SieveScripts(tmp_path)
    s.put(U, name, "keep;")
    [info] = s.list(U)
    assert info.name == name
    files = list((tmp_path / "sieve").rglob("*.sieve"))
    assert len(files) == 1 and files[0].parent == s.user_dir(U) / "scripts"


@pytest.mark.parametrize("name", ["", "a\nb", "tab\there", "x" * 200])
def test_invalid_names_are_refused(tmp_path, name):
    with pytest.raises(InvalidScriptName):
        SieveScripts(tmp_path).put(U, name, "keep;")


def test_delete_rename_rules(tmp_path):
    s = SieveScripts(tmp_path)
    s.put(U, "a", "keep;")
    s.put(U, "b", "keep;")
    s.activate(U, "a")
    with pytest.raises(StoreError, match="active"):
        s.delete(U, "a")
    with pytest.raises(AlreadyExists):
        s.rename(U, "a", "b")
    s.rename(U, "a", "c")
    assert s.active_name(U) == "c"
    s.delete(U, "b")
    with pytest.raises(NotFound):
        s.delete(U, "b")
    with pytest.raises(NotFound):
        s.activate(U, "nope")
    assert not list((tmp_path / "sieve").rglob(".tmp.*"))


def test_global_script_and_settings(tmp_path):
    s = SieveScripts(tmp_path)
    assert s.global_script() is None
    s.set_global("keep;")
    assert s.global_script() == "keep;"
    assert s.remove_global() and s.global_script() is None
    s.set_setting(U, "promotions", True)
    assert s.settings(U) == {"promotions": True}
