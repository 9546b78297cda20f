"""The relay test cannot be fooled (issue 19 point 4).

A lab of three SMTP servers that behave like Postfix with
``reject_unknown_sender_domain`` and ``smtpd_delay_reject = yes`` (the default:
sender restrictions are answered at RCPT): a sender whose domain does not
resolve gets ``450 4.1.8`` at RCPT. Postfix itself cannot be used for this: its
sender-domain lookups go to the system resolver, not to the lab's dnsmasq.

- openrelay.test: relays for anyone whose sender domain resolves (an open
  relay that used to pass, because the test's sender was unresolvable);
- closed.test: refuses to relay (554 5.7.1), accepts its own postmaster;
- picky.test: refuses every sender with 450 4.1.8 (and greylists the null
  sender): the question stays open: inconclusive, never "refused";
- brokentls.test: like closed.test, but its STARTTLS handshake fails: the
  recipient checks are made again in clear text, as senders fall back.

example.net resolves in the lab's view, so the external recipient is real.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from click.testing import CliRunner

from mailtool.cli.main import cli
from mailtool.diagnose.transport import relay_verdict
from mailtool.dns import DNSError, Resolver
from tests.peers import free_port
from tests.peers.dnsmasq import DnsServer

OPEN_IP, CLOSED_IP, PICKY_IP, BROKEN_IP = "127.0.0.20", "127.0.0.21", "127.0.0.22", "127.0.0.23"

ZONE = [
    "mx-host=openrelay.test,mx.openrelay.test,10",
    f"host-record=mx.openrelay.test,{OPEN_IP}",
    "mx-host=closed.test,mx.closed.test,10",
    f"host-record=mx.closed.test,{CLOSED_IP}",
    "mx-host=picky.test,mx.picky.test,10",
    f"host-record=mx.picky.test,{PICKY_IP}",
    "mx-host=brokentls.test,mx.brokentls.test,10",
    f"host-record=mx.brokentls.test,{BROKEN_IP}",
    # the external domain of the relay test resolves here (RFC 2606 reserved name)
    "mx-host=example.net,mx.example.net,10",
    "host-record=mx.example.net,127.0.0.29",
]


class PostfixLike:
    """A tiny SMTP server: ``mode`` "open" (reject_unknown_sender_domain, then relay
    anything), "closed" (reject_unauth_destination) or "picky" (every sender 4.1.8)."""

    def __init__(
        self, host: str, port: int, mode: str, domain: str, resolver: Resolver, tls: bool = False
    ) -> None:
        self.host, self.port, self.mode, self.domain = host, port, mode, domain
        self.resolver = resolver
        self.broken_tls = tls  # offers STARTTLS, then answers the handshake with text

    async def sender_resolves(self, sender: str) -> bool:
        domain = sender.rpartition("@")[2]
        try:
            return bool((await self.resolver.resolve_mx(domain)).hosts)
        except DNSError:
            return False

    async def rcpt(self, sender: str, rcpt: str) -> str:
        local = rcpt.endswith("@" + self.domain)
        if self.mode == "picky" and not local:  # every sender refused, <> greylisted
            if not sender:
                return "450 4.7.1 Greylisted, try again later"
            return f"450 4.1.8 <{sender}>: Sender address rejected: Domain not found"
        if sender and not await self.sender_resolves(sender):
            return f"450 4.1.8 <{sender}>: Sender address rejected: Domain not found"
        if self.mode != "open" and not local:
            return f"554 5.7.1 <{rcpt}>: Relay access denied"
        return "250 2.1.5 Ok"

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        sender = ""
        say(f"220 mx.{self.domain} ESMTP")
        while line := (await reader.readline()).decode().strip():
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                say(
                    f"250-mx.{self.domain}\r\n"
                    + ("250-STARTTLS\r\n" * self.broken_tls)
                    + "250 PIPELINING"
                )
            elif verb == "STARTTLS" and self.broken_tls:
                say("220 2.0.0 Ready to start TLS")
                say("this is not a TLS handshake")
                break
            elif verb == "MAIL":
                sender = arg.partition("<")[2].rstrip(">")
                say("250 2.1.0 Ok")
            elif verb == "RCPT":
                say(await self.rcpt(sender, arg.partition("<")[2].rstrip(">")))
            elif verb in ("RSET", "NOOP"):
                say("250 2.0.0 Ok")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                break
            else:
                say("502 5.5.2 Error: command not recognized")
            await writer.drain()
        await writer.drain()
        writer.close()


@pytest.fixture(scope="module")
def relay_lab(tmp_path_factory: Any) -> Any:
    dns = DnsServer(tmp_path_factory.mktemp("relay-dns"), ZONE).start()
    port = free_port(OPEN_IP)
    loop = asyncio.new_event_loop()
    resolver = Resolver([dns.address], timeout=3)
    servers = [
        PostfixLike(OPEN_IP, port, "open", "openrelay.test", resolver),
        PostfixLike(CLOSED_IP, port, "closed", "closed.test", resolver),
        PostfixLike(PICKY_IP, port, "picky", "picky.test", resolver),
        PostfixLike(BROKEN_IP, port, "closed", "brokentls.test", resolver, tls=True),
    ]
    started = [
        loop.run_until_complete(asyncio.start_server(s.session, s.host, s.port)) for s in servers
    ]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield dns, port
    finally:
        for server in started:
            server.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        dns.stop()


def invoke(relay_lab: Any, domain: str, *extra: str) -> Any:
    dns, port = relay_lab
    args = ["diagnose", domain, "--only", "transport", "--allow-private", *extra]
    args += ["--nameserver", dns.address, "--port-map", f"25={port}", "--timeout", "3"]
    return CliRunner().invoke(cli, args)


def diagnose(relay_lab: Any, domain: str) -> tuple[int, dict]:
    result = invoke(relay_lab, domain, "--json")
    return result.exit_code, json.loads(result.output)


def relay(report: dict) -> dict:
    (finding,) = [f for f in report["findings"] if f["id"] == "transport.relay"]
    return finding


def test_open_relay_that_refuses_unresolvable_senders_fails(relay_lab):
    code, report = diagnose(relay_lab, "openrelay.test")
    finding = relay(report)
    assert finding["status"] == "fail", finding
    assert code == 2
    # the sender and the recipient both resolve: the domain's own postmaster, example.net
    assert (
        "MAIL FROM:<postmaster@openrelay.test> RCPT TO:<relay-test@example.net>"
        in (finding["observed"])
    )
    assert "no MX host" not in finding["observed"]  # example.net resolves here
    assert (
        "--to relay-test@example.net --quit-after RCPT --from postmaster@openrelay.test"
        in (finding["reproduce"])
    )


def test_human_report_ends_with_the_problem_its_fix_and_the_whole_command(relay_lab):
    result = invoke(relay_lab, "openrelay.test")  # piped: CliRunner is no terminal
    problems = result.output[result.output.index("Problems and fixes") :]
    assert "transport.relay" in problems and "fix: Accept only recipients" in problems
    command = (
        f"$ swaks --server {OPEN_IP}:{relay_lab[1]} --to relay-test@example.net "
        "--quit-after RCPT --from postmaster@openrelay.test"
    )
    assert f"    {command}" in problems.splitlines(), problems  # whole, on one line


def test_closed_relay_passes_and_postmaster_is_accepted(relay_lab):
    _, report = diagnose(relay_lab, "closed.test")
    assert relay(report)["status"] == "pass"
    assert "554 5.7.1" in relay(report)["observed"]
    assert [f["status"] for f in report["findings"] if f["id"] == "transport.postmaster"] == [
        "pass"
    ]


def test_a_refused_sender_is_inconclusive_never_refused(relay_lab):
    code, report = diagnose(relay_lab, "picky.test")
    finding = relay(report)
    assert finding["status"] == "error" and "inconclusive" in finding["observed"]
    assert "4.1.8" in finding["observed"] and "MAIL FROM:<> " in finding["observed"]
    assert code == 3


def test_failed_starttls_is_one_warning_and_the_recipients_are_still_checked(relay_lab):
    code, report = diagnose(relay_lab, "brokentls.test")
    status = {f["id"]: f["status"] for f in report["findings"]}
    assert status["transport.tls.starttls"] == "warn"  # opportunistic TLS: senders fall back
    assert status["transport.relay"] == "pass" and status["transport.postmaster"] == "pass"
    assert code == 0


@pytest.mark.parametrize(
    ("mail", "rcpt", "verdict"),
    [
        ("250 2.1.0 Ok", "250 2.1.5 Ok", "accepted"),
        ("250 2.1.0 Ok", "554 5.7.1 <x@example.net>: Relay access denied", "refused"),
        ("250 2.1.0 Ok", "550 relaying denied", "refused"),
        ("250 2.1.0 Ok", "450 4.1.8 <a@b>: Sender address rejected: Domain not found", ""),
        ("250 2.1.0 Ok", "554 5.1.8 <a@b>: Sender address rejected: Domain not found", ""),
        ("250 2.1.0 Ok", "550 5.7.1 <a@b>: Sender address rejected: not logged in", ""),
        ("250 2.1.0 Ok", "556 5.1.10 <x@example.net>: Recipient address rejected: null MX", ""),
        ("250 2.1.0 Ok", "451 4.7.1 greylisted, try again later", ""),
        ("450 4.1.8 Sender address rejected", None, ""),
        ("550 5.7.1 go away", None, ""),
    ],
)
def test_relay_verdicts(mail, rcpt, verdict):
    assert relay_verdict(mail, rcpt)[0] == (verdict or "inconclusive")
