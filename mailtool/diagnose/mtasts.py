"""MTA-STS (RFC 8461) and TLS reporting (RFC 8460).

The policy is fetched from ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``
with a verified certificate and no redirects; its mode decides how strictly
the transport checks judge each MX's TLS (``policy_mode``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailtool.client.probe_tls import name_matches
from mailtool.dns import DNSError
from mailtool.protocol.authrecords import check_policy, parse_tags

from .context import Context
from .findings import Check, Finding, Status, dig

RECORD = Check(
    "transport.mtasts.record",
    "MTA-STS TXT record",
    "_mta-sts.DOMAIN announces that the domain has an MTA-STS policy, so senders insist on "
    "valid TLS to the listed MX hosts instead of falling back to plaintext.",
    "RFC 8461 §3.1",
    'Publish "_mta-sts.DOMAIN. TXT v=STSv1; id=YYYYMMDDNN" and serve the policy file.',
)
POLICY = Check(
    "transport.mtasts.policy",
    "MTA-STS policy file",
    "The policy must be served over HTTPS with a valid certificate for mta-sts.DOMAIN, as "
    "text/plain, without redirects, with version, mode, mx and max_age.",
    "RFC 8461 §3.2, §3.3",
    "Serve https://mta-sts.DOMAIN/.well-known/mta-sts.txt: "
    '"version: STSv1\\nmode: enforce\\nmx: mx.DOMAIN\\nmax_age: 604800".',
)
MX_MATCH = Check(
    "transport.mtasts.mx",
    "Every MX matches the MTA-STS policy",
    "Under an enforce policy senders refuse to deliver to an MX that no mx: line matches.",
    "RFC 8461 §4.1",
    "Add an mx: line for every MX host (wildcards like *.DOMAIN match one label).",
)
TLSRPT = Check(
    "transport.tlsrpt",
    "TLS reporting (TLS-RPT) record",
    "With TLS-RPT, senders report TLS failures (MTA-STS, DANE, STARTTLS) to you; otherwise "
    "a broken certificate silently delays mail.",
    "RFC 8460 §3",
    'Publish "_smtp._tls.DOMAIN. TXT v=TLSRPTv1; rua=mailto:tls-reports@DOMAIN".',
)

@dataclass
class MTASTS:
    """The policy in force (``mode`` "" when none)."""

    record: str = ""
    mode: str = ""
    mx: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def matches(self, host: str) -> bool:
        return any(name_matches(p, host) for p in self.mx)


async def load(ctx: Context) -> MTASTS:
    """Record + policy, once per diagnosis (transport and cross-checks share it)."""

    async def fetch() -> MTASTS:
        return await _load(ctx)

    return await ctx.once("mtasts", fetch)


async def _load(ctx: Context) -> MTASTS:
    d, ns = ctx.domain, ctx.nameservers
    state = MTASTS()
    name = f"_mta-sts.{d}"
    try:
        records = [t for t in await ctx.resolver.txt(name) if t.startswith("v=STSv1")]
    except DNSError as exc:
        state.findings.append(RECORD(Status.ERROR, str(exc), subject=name))
        return state
    if not records:
        state.findings.append(
            RECORD(
                Status.INFO,
                "no MTA-STS record (TLS is opportunistic)",
                subject=name,
                reproduce=dig(name, "TXT", ns),
            )
        )
        return state
    if len(records) > 1 or "id" not in parse_tags(records[0]):
        state.findings.append(
            RECORD(
                Status.FAIL,
                " | ".join(records),
                "one v=STSv1 record with id=",
                subject=name,
                reproduce=dig(name, "TXT", ns),
            )
        )
        return state
    state.record = records[0]
    state.findings.append(RECORD(Status.PASS, records[0], subject=name))
    await _policy(ctx, state)
    return state


async def _policy(ctx: Context, state: MTASTS) -> None:
    from mailtool.client.probe_https import https_get

    host = f"mta-sts.{ctx.domain}"
    url = f"https://{host}/.well-known/mta-sts.txt"
    repro = f"curl -sv --max-redirs 0 {url}"
    addresses = await ctx.addresses(host)
    if isinstance(addresses, DNSError) or not addresses:
        state.findings.append(
            POLICY(
                Status.FAIL,
                f"{host} has no address",
                url,
                subject=url,
                reproduce=dig(host, "A", ctx.nameservers),
            )
        )
        return
    ctx.progress(f"HTTPS {host}")
    got = await https_get(
        addresses[0],
        ctx.port(443),
        host,
        "/.well-known/mta-sts.txt",
        cafile=ctx.options.cafile,
        timeout=ctx.options.timeout,
    )
    problems = []
    if got.error:
        problems.append(got.error)
    elif got.status != 200:
        problems.append(f"HTTP status {got.status} (redirects are not followed)")
    elif not got.headers.get("content-type", "").lower().startswith("text/plain"):
        problems.append(f"Content-Type {got.headers.get('content-type', '(none)')}")
    policy = check_policy(got.body.decode("utf-8", "replace")) if not problems else None
    if policy is not None:
        problems += policy.problems
    if problems:
        state.findings.append(
            POLICY(
                Status.FAIL,
                "; ".join(problems),
                "a valid policy file",
                subject=url,
                reproduce=repro,
            )
        )
        return
    assert policy is not None
    state.mode = policy.mode
    state.mx = list(policy.mx)
    state.findings.append(
        POLICY(
            Status.PASS if state.mode == "enforce" else Status.INFO,
            f"mode {state.mode}, mx {', '.join(state.mx)}, max_age {policy.max_age}",
            subject=url,
            reproduce=repro,
        )
    )


async def run(ctx: Context) -> list[Finding]:
    state = await load(ctx)
    out = list(state.findings)
    if state.mode in ("enforce", "testing"):
        mx = await ctx.mx()
        for h in [] if isinstance(mx, Exception) else mx.hosts:
            if state.matches(h.host):
                out.append(MX_MATCH(Status.PASS, f"matches {', '.join(state.mx)}", subject=h.host))
            else:
                status = Status.FAIL if state.mode == "enforce" else Status.WARN
                out.append(
                    MX_MATCH(
                        status,
                        f"no mx: pattern matches ({', '.join(state.mx)})",
                        f"an mx: line for {h.host}",
                        subject=h.host,
                    )
                )
    out.append(await _tlsrpt(ctx, bool(state.record)))
    return out


async def _tlsrpt(ctx: Context, has_sts: bool) -> Finding:
    name = f"_smtp._tls.{ctx.domain}"
    try:
        records = [t for t in await ctx.resolver.txt(name) if t.startswith("v=TLSRPTv1")]
    except DNSError as exc:
        return TLSRPT(Status.ERROR, str(exc), subject=name)
    if len(records) == 1 and "rua" in parse_tags(records[0]):
        return TLSRPT(Status.PASS, records[0], subject=name)
    if records:
        return TLSRPT(
            Status.FAIL,
            " | ".join(records),
            "one v=TLSRPTv1 record with rua=",
            subject=name,
            reproduce=dig(name, "TXT", ctx.nameservers),
        )
    return TLSRPT(
        Status.WARN if has_sts else Status.INFO,
        "no TLS-RPT record",
        "v=TLSRPTv1; rua=mailto:...",
        subject=name,
        reproduce=dig(name, "TXT", ctx.nameservers),
    )
