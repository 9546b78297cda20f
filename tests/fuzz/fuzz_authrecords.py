"""atheris target: the mail-authentication records and headers an attacker writes.

DMARC (RFC 7489) policy discovery and evaluation on TXT records from the input
(tests/fuzz/fakedns.py), the ``tag=value`` lists of DKIM/DMARC/MTA-STS/TLS-RPT
records, the MTA-STS policy file, the header-field splitter the DKIM/ARC/DMARC
checks share, and the Authentication-Results field we prepend: whatever the
input, that field must stay one well-formed header field (no header injection
through a selector, a domain or an error message).
"""

from __future__ import annotations

from mailtool.diagnose.dkim import key_description
from mailtool.mta.authn import authresults, headers
from mailtool.mta.authn.arc import ArcResult
from mailtool.mta.authn.dkim_verify import DkimResult
from mailtool.mta.authn.dmarc import evaluate
from mailtool.policy import dkim_key, mtasts, spf_syntax, tlsrpt
from mailtool.policy import dmarc as dmarc_policy
from mailtool.policy.dmarc import aligned, organizational_domain
from mailtool.policy.mtasts import parse_policy_file
from mailtool.policy.spf import SpfResult
from mailtool.protocol.authrecords import parse_tags, spf_records
from tests.fuzz.fakedns import FakeResolver, run
from tests.fuzz.harness import fuzz

HOST = "mx.example.test"
DMARC_RESULTS = {"pass", "fail", "none", "temperror", "permerror"}
POLICIES = {"none", "quarantine", "reject"}


def _check_header(field: bytes) -> None:
    assert field.startswith(b"Authentication-Results: ") and field.endswith(b"\r\n")
    lines = field[:-2].split(b"\r\n")
    assert all(line.startswith(b"\t") for line in lines[1:]), field
    assert b"\r" not in b"".join(lines) and b"\n" not in b"".join(lines), field
    parsed = headers.fields(field + b"\r\nbody")
    assert [f.name for f in parsed] == ["authentication-results"], field


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    lines = data.split(b"\n")
    tags = parse_tags(text)
    spf_records(text.splitlines())
    sts = parse_policy_file(text)
    assert sts.max_age >= 0 and (sts.problems or sts.mode in ("enforce", "testing", "none"))
    key_description(tags.get("p", ""), tags.get("k", "rsa"))
    # every record grammar of mailtool.policy: problems, never an exception
    for check in (spf_syntax.record_problems, dmarc_policy.record_problems, mtasts.record_problems,
                  tlsrpt.record_problems):
        assert all(p.rfc for p in check(text))
    dkim_key.parse_key_record(text)
    for line in text.splitlines()[:4]:
        organizational_domain(line)
        aligned(line, "example.test", "r")
    # DMARC for example.test (its record is the first line) and for the message's From
    spf = SpfResult("pass" if data[:1] == b"p" else "fail", lines[-1].decode("latin-1"), text[:50])
    dkim = [DkimResult("pass", lines[0].decode("latin-1").lower(), "s", "rsa-sha256", "", "abc")]
    resolver = FakeResolver(lines, {"_dmarc.example.test": 0})
    for domains in (["example.test"], ["sub.example.test"], headers.from_domains(data)):
        dmarc = run(evaluate(resolver, domains, spf, dkim, sample=0.5))
        assert dmarc.result in DMARC_RESULTS and dmarc.policy in POLICIES, dmarc
    fields = headers.fields(data)
    headers.signature_keys(data, ("dkim-signature", "arc-seal"))
    assert headers.remove(data, fields).endswith(data[headers.header_end(data) :])
    authresults.forged_fields(data, HOST)
    junk = [(f.name, f.value) for f in fields[:3]] or [(text, text)]
    field = authresults.build(
        HOST,
        spf=SpfResult("permerror", junk[0][0], text),
        helo=SpfResult("none", text, junk[0][1]),
        mail_from=text,
        helo_name=junk[-1][0],
        dkim=[DkimResult("fail", n, v, text, v, n) for n, v in junk],
        dmarc=dmarc,
        arc=ArcResult("fail", text),
    )
    _check_header(field)


def seeds() -> list[bytes]:
    return [
        s.encode()
        for s in (
            # RFC 7489 §B.2 records
            "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com",
            "v=DMARC1; p=quarantine; pct=50; rua=mailto:a@example.com; sp=reject; adkim=s",
            "v=DMARC1; p=reject; aspf=s; adkim=r; fo=1; ruf=mailto:f@example.com; ri=3600",
            "v=DMARC1;p=reject;pct=100\nv=DMARC1; p=none",
            "v=DMARC1; rua=mailto:x@example.test\nv=dmarc1 ; P=Reject",
            # RFC 6376 §3.6.1 and RFC 8463 keys
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGe"
            "LnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+"
            "Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
            "v=DKIM1; p=",
            # RFC 8461 §3.2 policy file, RFC 8460 §3 record
            "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
            "mx: backupmx.example.com\nmax_age: 604800\n",
            "version: STSv1\r\nmode: testing\r\nmx: a\r\nmax_age: 31557601\r\n",
            "v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1",
            "v=STSv1; id=20160831085700Z;",
            "v=spf1 -all",
            # headers the checks read
            "From: Joe <joe@example.test>\r\nAuthentication-Results: mx.example.test; spf=pass\r\n"
            "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel;\r\n b=abc\r\n\r\nbody\r\n",
            "Authentication-Results: mx.example.test (comment); dkim=pass\n"
            "From: a@x.test, b@y.test\n\nbody",
            'From: "a;b" <a@sub.example.test>\r\n\r\n',
            "X: (nested (comment)) mx.example.test\r\n folded\r\n\r\n",
        )
    ]


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
