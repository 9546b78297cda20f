"""Whatever a DNS answer holds, the policy parsers return problems, never raise
(diagnose reads hostile domains; the server reads every sender's records)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.policy import dkim_key, dmarc, mtasts, spf_syntax, tlsrpt

#: record-ish text: the characters the grammars care about, and any other
TEXT = st.text(
    alphabet=st.sampled_from("v=spf1DMARC;:,./!%{}-_+~?@ 0123456789amxiptlsorue\x00é²\n")
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, st.text()))
def test_parsers_never_raise(text: str) -> None:
    for problems in (
        spf_syntax.record_problems("v=spf1 " + text),
        dmarc.record_problems("v=DMARC1; " + text),
        mtasts.record_problems("v=STSv1; " + text),
        mtasts.parse_policy_file(text).problems,
        tlsrpt.record_problems("v=TLSRPTv1; " + text),
        dkim_key.parse_key_record(text).problems,
    ):
        assert all(p.rfc.startswith("RFC ") for p in problems)
    org = dmarc.organizational_domain(text)
    assert isinstance(org, str)
    dmarc.parse_record("example.test", text).pct  # noqa: B018 - must not raise
