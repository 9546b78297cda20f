"""include (RFC 6609): :personal/:global, :once, :optional, return, global variables, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtool.mda.sieve import (
    Envelope,
    FileInto,
    Interpreter,
    Keep,
    SieveLimitError,
    SieveRuntimeError,
    SieveSyntaxError,
    parse,
)
from mailtool.mda.sieve.ext_include import INCLUDES, MAX_INCLUDE_DEPTH, directory_loader
from tests.mda.sieve.helpers import msg


def run(script: str, personal: dict[str, str], global_: dict[str, str] | None = None,
        message: bytes | None = None) -> list:  # fmt: skip
    scripts = {"personal": personal, "global": global_ or {}}
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message or msg({}),
                         services={INCLUDES: lambda loc, name: scripts[loc].get(name)})  # fmt: skip
    interp.execute(parse(script))
    return interp.finish()


# RFC 6609 §5 (examples), slightly trimmed
SPAM_TESTS = """require ["fileinto"];
if header :contains "Subject" "$$" { fileinto "spam"; }"""
WHITELIST = """require ["include", "variables"];
global "status";
if header :contains "From" "friend@example.test" { set "status" "white"; return; }
set "status" "grey";"""


def test_rfc6609_personal_and_global_includes():
    script = """require ["include"];
include :personal "always_allow";
include :global "spam_tests";"""
    actions = run(script, {"always_allow": "keep;"}, {"spam_tests": SPAM_TESTS},
                  msg({"Subject": "$$ cheap"}))  # fmt: skip
    assert actions == [Keep(), FileInto("spam")]


def test_rfc6609_global_variables_and_return():
    script = """require ["include", "variables", "fileinto"];
global "status";
include "whitelist";
if string :is "${status}" "white" { fileinto "friends"; }
if string :is "${global.status}" "grey" { fileinto "unknown"; }"""
    friend = run(script, {"whitelist": WHITELIST}, message=msg({"From": "friend@example.test"}))
    stranger = run(script, {"whitelist": WHITELIST}, message=msg({"From": "x@example.test"}))
    assert friend == [FileInto("friends")]
    assert stranger == [FileInto("unknown")]


def test_local_variables_stay_local():
    inner = 'require ["variables", "fileinto"]; set "box" "inner"; fileinto "${box}";'
    script = """require ["include", "variables", "fileinto"];
set "box" "outer";
include "inner";
fileinto "${box}";"""
    assert run(script, {"inner": inner}) == [FileInto("inner"), FileInto("outer")]


def test_stop_in_an_included_script_ends_everything_and_return_only_that_script():
    script = 'require ["include", "fileinto"];\ninclude "child";\nfileinto "after";'
    assert run(script, {"child": "stop;"}) == [Keep(implicit=True)]
    assert run(script, {"child": 'require "include"; return; discard;'}) == [FileInto("after")]


def test_once_and_optional():
    script = """require ["include", "fileinto"];
include :once "counter";
include :once "counter";
include :optional "missing";"""
    child = 'require ["fileinto", "copy"]; fileinto :copy "seen";'
    interp_actions = run(script, {"counter": child})
    assert interp_actions == [FileInto("seen", copy=True), Keep(implicit=True)]


def test_missing_script_is_a_runtime_error():
    with pytest.raises(SieveRuntimeError, match="no personal script 'nope'"):
        run('require "include";\ninclude "nope";', {})


def test_include_loop_is_refused():
    looping = 'require "include";\ninclude "a";'
    with pytest.raises(SieveRuntimeError, match="include loop"):
        run(looping, {"a": 'require "include"; include "b";', "b": looping})


def test_depth_is_bounded():
    chain = {f"s{i}": f'require "include"; include "s{i + 1}";' for i in range(40)}
    with pytest.raises(SieveLimitError, match=f"deeper than {MAX_INCLUDE_DEPTH}"):
        run('require "include";\ninclude "s0";', chain)


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", ".hidden", ""])
def test_script_names_cannot_leave_the_directory(name):
    with pytest.raises(SieveSyntaxError) as info:
        parse(f'require "include";\ninclude "{name}";')
    assert (info.value.line, info.value.column) == (2, 1)


def test_global_needs_variables_and_identifiers():
    with pytest.raises(SieveSyntaxError, match='needs require "variables"'):
        parse('require "include";\nglobal "x";')
    with pytest.raises(SieveSyntaxError, match="not a variable name"):
        parse('require ["include", "variables"];\nglobal "a-b";')
    with pytest.raises(SieveSyntaxError, match='needs require "include"'):
        parse("return;")
    with pytest.raises(SieveSyntaxError, match='needs require "include"'):
        parse('require "variables";\nset "global.x" "1";')


def test_directory_loader_reads_global_dir_and_personal_scripts(tmp_path: Path):
    (tmp_path / "spam_tests.sieve").write_text(SPAM_TESTS)
    load = directory_loader({"mine": "keep;"}.get, tmp_path)
    assert load("global", "spam_tests") == SPAM_TESTS
    assert load("global", "absent") is None
    assert load("personal", "mine") == "keep;"
    assert load("global", "../spam_tests") is None


def test_at_delivery_includes_come_from_the_users_scripts_and_the_global_dir(tmp_path: Path):
    from mailtool.mda.filtering import filter_for_user
    from mailtool.store.sieve_scripts import SieveScripts

    scripts = SieveScripts(tmp_path)
    (tmp_path / "sieve" / "global").mkdir(parents=True)
    (tmp_path / "sieve" / "global" / "spam_tests.sieve").write_text(SPAM_TESTS)
    user = "me@example.com"
    scripts.put(user, "whitelist", WHITELIST)
    scripts.put(
        user,
        "main",
        """require ["include", "variables", "fileinto"];
global "status";
include :global "spam_tests";
include :personal "whitelist";
fileinto "${status}";""",
    )
    scripts.activate(user, "main")
    env = Envelope("a@b.test", user)

    def filed(message: bytes) -> list[str]:
        return [d.folder for d in filter_for_user(scripts, user, env, message).deliveries]

    assert filed(msg({"From": "friend@example.test"})) == ["white"]
    assert filed(msg({"From": "x@elsewhere.test"})) == ["grey"]
    assert filed(msg({"From": "x@elsewhere.test", "Subject": "$$$"})) == ["spam", "grey"]
