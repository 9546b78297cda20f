"""MTA-STS (RFC 8461) and TLS reporting (RFC 8460).

The policy is fetched from ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``
with a verified certificate and no redirects; its mode decides how strictly
the transport checks judge each MX's TLS (``policy_mode``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailtool.client.probe_tls import name_matches
from mailtool.dns import DNSError
from mailtool.policy import mtasts as sts
from mailtool.policy import tlsrpt

from .context import Context
from .findings import Check, Finding, Status, dig
from .problems import problem_finding

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
        found = await sts.discover(ctx.resolver, d)
    except DNSError as exc:
        state.findings.append(RECORD(Status.ERROR, str(exc), subject=name))
        return state
    records = list(found.texts)
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
    state.findings += [
        problem_finding(RECORD, p, name, dig(name, "TXT", ns)) for p in found.problems
    ]
    if not found.id:  # the same record the relay would refuse (RFC 8461 §3.1)
        return state
    state.record = records[0]
    if not found.problems:
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
    if got.error:
        state.findings.append(
            POLICY(Status.FAIL, got.error, "a valid policy file", subject=url, reproduce=repro)
        )
        return
    # the relay's own judgement of the answer (mailtool.mta.authn.mtasts)
    policy = sts.judge_response(got.status, got.headers.get("content-type", ""), got.body)
    state.findings += [problem_finding(POLICY, p, url, repro) for p in policy.problems]
    if not policy.valid:
        return
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
    out += await _tlsrpt(ctx, bool(state.record))
    return out


async def _tlsrpt(ctx: Context, has_sts: bool) -> list[Finding]:
    name = f"_smtp._tls.{ctx.domain}"
    repro = dig(name, "TXT", ctx.nameservers)
    try:
        found = await tlsrpt.discover(ctx.resolver, ctx.domain)
    except DNSError as exc:
        return [TLSRPT(Status.ERROR, str(exc), subject=name)]
    if found.problems:  # RFC 8460 §3: several records, no rua=, a URI not mailto:/https:
        return [problem_finding(TLSRPT, p, name, repro) for p in found.problems]
    if found.texts:
        return [TLSRPT(Status.PASS, found.texts[0], subject=name)]
    return [
        TLSRPT(
            Status.WARN if has_sts else Status.INFO,
            "no TLS-RPT record",
            "v=TLSRPTv1; rua=mailto:...",
            subject=name,
            reproduce=repro,
        )
    ]
