"""environment (RFC 5183): items from the delivery context and the built-in ones."""

from __future__ import annotations

import pytest

from mailtool import __version__
from mailtool.mda.sieve import Envelope, Interpreter, SieveSyntaxError, parse
from mailtool.mda.sieve.ext_environment import ENVIRONMENT
from tests.mda.sieve.helpers import folders, msg, sieve


def run_with(script: str, items: dict[str, str]) -> list[str]:
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), msg({}),
                         services={ENVIRONMENT: items})  # fmt: skip
    interp.execute(parse(script))
    return folders(interp.finish())


def test_rfc5183_section6_example_remote_host():
    script = """require ["environment", "fileinto"];
if environment :contains "remote-host" "relay.example.net" { fileinto "relayed"; }"""
    assert run_with(script, {"remote-host": "mx1.relay.example.net"}) == ["relayed"]
    assert run_with(script, {"remote-host": "elsewhere.test"}) == ["INBOX"]


@pytest.mark.parametrize(
    ("item", "value"),
    [("name", "mailtool"), ("version", __version__), ("location", "MDA"), ("phase", "during")],
)
def test_builtin_items(item, value):
    script = f'require ["environment", "fileinto"];\nif environment :is "{item}" "{value}" {{'
    script += ' stop; }\nfileinto "not-ok";'
    assert folders(sieve(script, msg({}))) == ["INBOX"]


def test_delivery_items_and_match_variables():
    script = """require ["environment", "fileinto", "variables"];
if environment :matches "domain" "*.example.*" { fileinto "${1}-${2}"; }"""
    assert run_with(script, {"domain": "mail.example.com", "host": "mx"}) == ["mail-com"]


def test_an_undefined_item_is_false_even_for_not_equal_tests():
    script = """require ["environment", "fileinto"];
if environment :matches "remote-ip" "*" { fileinto "known"; }
if environment :contains "vnd.nobody.knows" "" { fileinto "odd"; }"""
    assert folders(sieve(script, msg({}))) == ["INBOX"]
    assert run_with(script, {"remote-ip": "192.0.2.1"}) == ["known"]


def test_environment_needs_require():
    with pytest.raises(SieveSyntaxError) as info:
        parse('if environment "name" "mailtool" { stop; }')
    assert (info.value.line, info.value.column) == (1, 4)


def test_at_delivery_the_items_come_from_our_received_field(tmp_path):
    from mailtool.mda.filtering import filter_for_user
    from mailtool.mta.received import received_header
    from mailtool.store.sieve_scripts import SieveScripts

    scripts = SieveScripts(tmp_path)
    user = "me@example.com"
    scripts.put(
        user,
        "main",
        """require ["environment", "variables", "fileinto"];
if environment :matches "remote-ip" "*" { set "ip" "${1}"; }
if environment :matches "host" "*" { set "host" "${1}"; }
if environment :matches "domain" "*" { set "domain" "${1}"; }
fileinto "${ip} ${host} ${domain}";""",
    )
    scripts.activate(user, "main")
    trace = received_header(helo="pc.example", peer_ip="192.0.2.7", by="mx.example.com",
                            with_="ESMTP", queue_id="Q1")  # fmt: skip
    decision = filter_for_user(scripts, user, Envelope("a@b.test", user), trace + msg({}))
    assert [d.folder for d in decision.deliveries] == ["192.0.2.7 mx.example.com example.com"]
