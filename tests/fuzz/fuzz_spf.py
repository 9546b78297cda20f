"""atheris target: SPF ``check_host()`` (RFC 7208) on records an attacker publishes.

The input's lines are the TXT records of every name (tests/fuzz/fakedns.py): the
first is the checked domain's, includes and redirects land on the others. The
evaluation must end with one of the seven results, within the lookup limits,
whatever the records say (macros, CIDRs, loops, junk terms).
"""

from __future__ import annotations

from mailtool.policy.spf import check_helo, check_host, check_mail_from
from tests.fuzz.fakedns import FakeResolver, run
from tests.fuzz.harness import fuzz

RESULTS = {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"}
CLIENTS = ("192.0.2.1", "2001:db8::1", "::ffff:198.51.100.3", "203.0.113.9")


def test_one_input(data: bytes) -> None:
    lines = data.split(b"\n")
    client = CLIENTS[data[0] % len(CLIENTS)] if data else CLIENTS[0]
    resolver = FakeResolver(lines, {"example.test": 0})
    result = run(check_host(resolver, client, "example.test", "Jo.Doe+x@example.test", "mx.test"))
    assert result.result in RESULTS, result
    # the last line as the identities themselves (hostile MAIL FROM and HELO)
    ident = lines[-1].decode("utf-8", "replace")
    for spf in (
        run(check_mail_from(FakeResolver(lines), client, ident, ident)),
        run(check_helo(FakeResolver(lines), client, ident)),
    ):
        assert spf.result in RESULTS, spf


def seeds() -> list[bytes]:
    # RFC 7208 appendix A's records, and the macro examples of §7.4
    return [
        line.encode()
        for line in (
            "v=spf1 +mx a:colo.example.com/28 -all\nv=spf1 a -all",
            "v=spf1 mx -all\nv=spf1 ip4:192.0.2.0/24 -all",
            "v=spf1 include:example.com include:example.net -all\nv=spf1 ip4:192.0.2.1 ~all",
            "v=spf1 redirect=_spf.example.com\nv=spf1 mx:example.net -all",
            "v=spf1 ip6:2001:db8::/32 ip4:203.0.113.0/24 ?all",
            "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
            "v=spf1 a:%{d}/24//64 mx/26 ptr:%{d2} -all",
            "v=spf1 exists:%{i}.%{v}.arpa._spf.%{d2} exp=explain._spf.%{d}\n%{s} %{o} %{h} %{c}",
            "v=spf1 include:%{ir}.%{v}._spf.%{d} -all\nv=spf1 %{L}%%%_%- ~all",
            "v=spf1 ptr -all\nv=spf1 a mx include:x.example.test redirect=y.example.test",
            "v=spf1 a:a.example.test a:b.example.test a:c.example.test a:d.example.test "
            "a:e.example.test a:f.example.test a:g.example.test a:h.example.test "
            "a:i.example.test a:j.example.test a:k.example.test",
            "v=spf1 include:example.test",
            "v=spf1 -ip4:192.0.2.1 +all\nv=spf1 ip4:1.2.3.4/33",
            "spf2.0/pra ~all\nv=spf1\nv=spf1 all",
            "\x02v=spf1 unknown-mod=x foo:bar all\nuser@mail.example.test",
        )
    ]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
