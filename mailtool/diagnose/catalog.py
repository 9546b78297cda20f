"""docs/diagnose.md, generated from the check catalogue so that the docs
list exactly the checks that exist: ``python -m mailtool.diagnose.catalog``."""

from __future__ import annotations

import importlib

from .findings import CATALOGUE, Status
from .report import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_WARN, SCHEMA
from .runner import GROUPS

INTRO = f"""# Diagnostics

`mailtool diagnose DOMAIN` looks at a domain's whole mail set-up — DNS routing,
sender policy, inbound transport, client access, reputation — and cross-checks
them. `mailtool probe` shows one conversation with one server; `mailtool dns
records` prints the records a mailtool domain needs.

```
mailtool diagnose example.org
mailtool diagnose example.org --only transport --json
mailtool diagnose example.org --selector s2024 --strict
mailtool probe smtp mx.example.org
mailtool probe smtp mx.example.org --from postmaster@example.org --to x@example.net
mailtool probe submission mail.example.org --user alice \\
    --send --from alice@example.org --to bob@example.net
mailtool dns records example.org --hostname mx.example.org --ipv4 203.0.113.7
```

## How it runs

All check groups run concurrently; DNS queries run in parallel; each host gets
its own timeouts (`--timeout`, default 10 s) and the SMTP greeting is awaited
for `--greeting-timeout` seconds (default 30, at least 20: servers that
"greet-pause" delay their banner on purpose). One SMTP connection is made per
MX address and shared by every check that needs it; it never sends `DATA`.
Progress is shown on stderr while it runs. A resolver that has answered
nothing and lets a query time out is taken as dead: later queries fail at
once, so a diagnosis against a dead resolver ends within about one
`--timeout` (at most two).

The relay test (`transport.relay`) sends `MAIL FROM:<postmaster@DOMAIN>`, then
`MAIL FROM:<relay-test-sender@EXTERNAL>`, then `MAIL FROM:<>`, each with
`RCPT TO:<relay-test@EXTERNAL>`,
where EXTERNAL is the first of example.net, example.com, example.org that has
an MX host in the resolver's view: sender and recipient domains resolve, so
a server that refuses unresolvable senders (Postfix
`reject_unknown_sender_domain`, `4.1.8`) cannot pass for one that refuses to
relay. An accepted RCPT fails; a 5xx refusal of the RCPT passes; a refused
sender, any 4xx, or a refusal about the sender or the recipient's domain
(x.1.7, x.1.8, x.1.2, x.1.10) is inconclusive (`error`).

Client services that an SRV record advertises (RFC 6186) are judged as the
domain's word: a problem fails. Services no SRV record names are probed on a
guessed host (mail.DOMAIN, imap.DOMAIN, else the first MX); their problems at
most warn, and one problem seen on several guessed services is one finding.
For a null-MX domain (RFC 7505), warnings that only matter to a domain that
receives mail (DKIM keys, DMARC `rua`, MTA-STS, TLS-RPT) become `skip`. One
fault fails once: a certificate without the MX name fails `transport.tls.name`
and `cross.mtasts_cert` is then `info`; a client service without TLS fails
`client.tls` and `client.plaintext_login` is then `info`; an MX host without
addresses fails `routing.mx.address` and nothing passes it; a resolver that
answers nothing is one `diagnose.resolver` error, the checks it stopped `skip`.
Without `--selector`, DKIM keys are looked for under mailtool's own selectors
(`mailtool`, `mailtool-ed25519`) and common ones (default, dkim, mail,
selector1, selector2, google, k1, s1, s2, mx).

The human report ends with **Problems and fixes**: every `fail`, `error` and
`warn` once, worst first, with what was seen and expected, the fix for that
problem, the rule (RFC section) and a command that shows it. Commands are
printed whole on one line, also when the output is piped.

Options: `--only GROUP` / `--skip GROUP` (repeatable), `--nameserver HOST[:PORT]`
(repeatable; also `MAILTOOL_NAMESERVERS` and `dns.nameservers` in the config),
`--selector` (DKIM, repeatable), `--dnsbl ZONE` (repeatable), `--cafile` (a
private CA), `--allow-private` (loopback/private MX addresses are info, not
failures), `--port-map 25=2525,443=8443` (connect to other ports: test set-ups),
`--strict`, `--json`.

## Statuses and exit codes

| status | meaning |
|---|---|
| `pass` | as it should be |
| `info` | worth knowing, not a problem |
| `skip` | not applicable here |
| `warn` | works, but should be fixed |
| `error` | could not be tested (timeout, SERVFAIL): inconclusive |
| `fail` | broken: mail is lost, delayed, forged or exposed |

| exit code | when |
|---|---|
| {EXIT_OK} | no failure, nothing inconclusive |
| {EXIT_WARN} | warnings, with `--strict` |
| {EXIT_FAIL} | at least one `fail` |
| {EXIT_INCONCLUSIVE} | no `fail`, but the domain could not be checked: its DNS could not \
be read, or its MX left the relay test open |
| 64 | usage error (bad option) |

A DNSBL that cannot be used from here (it answers its error codes such as
Spamhaus's 127.255.255.254 for queries through public resolvers, lists
everything, or does not answer) is reported as `info` "unusable", never as an
inconclusive result for the domain.

`mailtool probe` exits with the stage that failed, as swaks does: 2 cannot
connect, 6 connection closed, 21 greeting, 22 EHLO/CAPABILITY/CAPA, 23 MAIL
FROM, 24 no recipient accepted, 25 DATA refused, 26 message refused, 28
login/AUTH, 29 TLS, 32 EHLO after TLS, 64 usage. A server that stops
answering fails the stage it was in (one that never greets: 21). With
`--tls-verify` a certificate that does not verify is fatal (29); without it,
the failure is reported and the probe goes on without verification.
`--quit-after connect|banner|ehlo|tls|auth|mail|rcpt` stops there (QUIT or
LOGOUT) as swaks does; `--from`/`--to` without `--send` run MAIL FROM and RCPT
TO and stop (never DATA); options that contradict each other are usage
errors (64). The transcript's "TLS started ... handshake N ms" line and the
`tls` timing are the same measurement (the handshake alone, also for implicit
TLS).

## JSON schema (`--json`)

The schema is `{SCHEMA}`; fields are only ever added, never renamed, within it.

```json
{{
  "schema": "{SCHEMA}",
  "domain": "example.org",
  "started": "2025-01-01T12:00:00+00:00",
  "duration": 2.41,
  "nameservers": ["127.0.0.1:53"],
  "groups": ["routing", "policy", "transport", "client", "reputation", "cross"],
  "summary": {{"pass": 40, "info": 12, "skip": 0, "warn": 1, "error": 0, "fail": 0}},
  "exit_code": 0,
  "findings": [
    {{
      "id": "transport.tls.name",
      "family": "transport",
      "status": "fail",
      "title": "The certificate names the MX host",
      "subject": "mx.example.org [203.0.113.7]",
      "observed": "names mail.example.net (MTA-STS mode is enforce)",
      "expected": "mx.example.org",
      "why": "MTA-STS senders check that the certificate carries the MX host name.",
      "rfc": "RFC 8461 §4.2, RFC 6125 §6",
      "fix": "Issue the certificate for the MX host name (subjectAltName).",
      "reproduce": "openssl s_client -connect 203.0.113.7:25 -starttls smtp ..."
    }}
  ]
}}
```

`fix` is filled for `warn` and `fail` only. `id`s are stable; the list below is
every check there is.

## Checks
"""

GROUP_TITLES = {
    "routing": "Routing",
    "policy": "Sender policy",
    "transport": "Inbound transport",
    "client": "Client access",
    "reputation": "Reputation",
    "cross": "Cross-checks",
    "diagnose": "Internal",
}


def render() -> str:
    for modules in GROUPS.values():
        for module in modules:
            importlib.import_module(f"mailtool.diagnose.{module}")
    out = [INTRO]
    for group, title in GROUP_TITLES.items():
        checks = sorted((c for c in CATALOGUE.values() if c.family == group), key=lambda c: c.id)
        if not checks:
            continue
        out.append(f"\n### {title} (`{group}`)\n")
        for c in checks:
            out.append(f"\n#### `{c.id}` — {c.title}\n\n{c.why}\n")
            if c.rfc:
                out.append(f"\n*Reference:* {c.rfc}\n")
            if c.fix:
                out.append(f"\n*How to fix:* {c.fix}\n")
    assert {s.value for s in Status} == {"pass", "info", "skip", "warn", "error", "fail"}
    return "".join(out)


if __name__ == "__main__":
    print(render(), end="")
