"""QUOTA (RFC 9208, issue 16 class 10): a user without limits. RFC 9208 §9's grammar
has no empty resource list (``quota-response = "QUOTA" SP astring SP quota-list``,
``quota-list = "(" quota-resource *(SP quota-resource) ")"``), so GETQUOTAROOT
answers the QUOTAROOT line and no QUOTA line."""

from __future__ import annotations

from tests.conformance.harness import S, Script

_ROOTLESS = (
    "RFC 9208 §4.3: GETQUOTAROOT returns an untagged QUOTAROOT response; mailtool sends "
    "'* QUOTAROOT INBOX' with no root, Dovecot (no limit configured) sends no line at all"
)

DIFFERENCES = {
    "quota-unlimited#1": _ROOTLESS,
    "quota-unlimited#2": _ROOTLESS,
    "quota-unlimited#4": "RFC 5530 NONEXISTENT: mailtool refuses GETQUOTAROOT of a "
    "mailbox that does not exist; Dovecot answers OK with no root",
    "quota-unlimited#6": _ROOTLESS,
}

SCRIPTS = [
    Script(
        "quota-unlimited",
        [
            S("a", "q1 GETQUOTAROOT INBOX"),
            S("a", "q2 GETQUOTAROOT Archive"),
            S("a", 'q3 GETQUOTA ""'),
            S("a", "q4 GETQUOTAROOT Nonexistent"),
            S("a", "q5 SELECT INBOX", ordered=False),
            S("a", "q6 GETQUOTAROOT INBOX"),
        ],
    ),
]
