"""Class 5 of issue 16: LIST-EXTENDED (RFC 5258) as its §5 examples show: selection
options SUBSCRIBED / REMOTE / RECURSIVEMATCH, return options CHILDREN / SUBSCRIBED,
\\NonExistent for subscribed mailboxes that do not exist, CHILDINFO, errors; plus
LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154) return options, LSUB."""

from __future__ import annotations

from tests.conformance.harness import Message, S, Script

_TREE = {
    "INBOX": [],
    "Fruit": [],
    "Fruit/Apple": [Message("apple")],
    "Fruit/Banana": [],
    "Fruit/Peach": [],
    "Tofu": [],
    "Vegetable": [],
    "Vegetable/Broccoli": [],
    "Vegetable/Corn": [],
}

SCRIPTS = [
    Script(
        "list-extended-rfc5258-examples",
        [
            S("a", "s1 SUBSCRIBE Fruit/Banana"),
            S("a", "s2 SUBSCRIBE Fruit/Peach"),
            S("a", "s3 SUBSCRIBE Vegetable"),
            S("a", "s4 SUBSCRIBE Vegetable/Broccoli"),
            S("a", "s5 DELETE Fruit/Peach"),  # still subscribed: \NonExistent
            S("a", "s6 SUBSCRIBE Gone/Missing"),  # subscribed, never existed
            # RFC 5258 §5 example 2-4
            S("a", 'a1 LIST "" "*"', ordered=False),
            S("a", 'a2 LIST (SUBSCRIBED) "" "*"', ordered=False),
            S("a", 'a3 LIST "" "%" RETURN (CHILDREN)', ordered=False),
            S("a", 'a4 LIST "" "*" RETURN (CHILDREN SUBSCRIBED)', ordered=False),
            # example 6: RECURSIVEMATCH and CHILDINFO
            S("a", 'a5 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"', ordered=False),
            S("a", 'a6 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)', ordered=False),
            S("a", 'a7 LIST (SUBSCRIBED) "" "%" RETURN (CHILDREN)', ordered=False),
            S("a", 'a8 LIST (REMOTE) "" "%"', ordered=False),
            # example 8: multiple patterns
            S("a", 'a9 LIST "" ("Fruit/%" "Vegetable/%")', ordered=False),
            S("a", 'a10 LSUB "" "*"', ordered=False),
            S("a", 'a11 LSUB "" "%"', ordered=False),
        ],
        seed=_TREE,
    ),
    Script(
        "list-extended-errors",
        [
            S("a", 'a1 LIST "" "*" RETURN (FOO)'),
            S("a", 'a2 LIST (FOO) "" "*"'),
            S("a", 'a3 LIST (RECURSIVEMATCH) "" "*"'),
            S("a", 'a4 LIST "" "*" RETURN (STATUS)'),
            S("a", 'a5 LIST "" ""'),
            S("a", 'a6 LIST "" ()'),
            S("a", "a7 NOOP"),
        ],
        seed=_TREE,
    ),
    Script(
        "list-status-special-use",
        [
            S("a", 'a1 LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN))', ordered=False),
            S("a", 'a2 LIST (SPECIAL-USE) "" "*"', ordered=False),
            S("a", 'a3 LIST "" "*" RETURN (SPECIAL-USE)', ordered=False),
            S("a", 'a4 LIST "" "Fruit/%" RETURN (STATUS (MESSAGES) CHILDREN)', ordered=False),
        ],
        seed=_TREE,
    ),
]

DIFFERENCES = {
    "list-extended-errors#6": 'RFC 5258 §6 grammar: patterns = "(" list-mailbox *(SP '
    'list-mailbox) ")", so an empty list is BAD (mailtool); Dovecot answers OK',
}
