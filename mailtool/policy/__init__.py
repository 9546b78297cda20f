"""mailtool.policy: the mail-authentication records, parsed and evaluated once.

SPF (:mod:`.spf`), DMARC (:mod:`.dmarc`), DKIM key records (:mod:`.dkim_key`),
MTA-STS (:mod:`.mtasts`), TLS-RPT (:mod:`.tlsrpt`) and TLSA (:mod:`.tlsa`).
The server enforces them (:mod:`mailtool.mta.authn`) and ``mailtool diagnose``
reports on them, both through these modules, so what diagnose says about a
domain is what the server would do with its mail. Every syntax or semantic
fault is a :class:`~.problems.Problem` naming the RFC rule it breaks.

Layer: imports :mod:`mailtool.dns` and :mod:`mailtool.protocol` only.
"""
