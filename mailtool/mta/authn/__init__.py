"""Email authentication: DKIM signing of submitted mail; SPF, DKIM, DMARC and ARC
checks of inbound mail summed up in one Authentication-Results header; MTA-STS
and TLS-RPT for outbound delivery.

Entry points for the rest of the MTA::

    signer = DkimSigner(data_dir)                       # submission path
    message = await signer.sign(message)                # DKIM-Signature(s) prepended

    verdict = await check_inbound(message, peer_ip=..., helo=..., mail_from=...,
                                  resolver=..., hostname=..., config=cfg.auth)
    if verdict.reject: reply(verdict.reject)            # 550 5.7.1 (DMARC p=reject)
    message = verdict.apply(message)                    # A-R prepended, forged A-R removed

    policy = await sts.policy_for(domain)               # relay path (MtaStsCache)
    route = enforce_on_route(route, policy)             # TLS + verified certificate + MX match

Everything DNS goes through :mod:`mailtool.dns` (dkimpy's own lookups are
replaced by answers pre-fetched with our resolver). The records themselves (SPF
``check_host``, DMARC discovery and the organisational domain, DKIM key records,
MTA-STS, TLS-RPT) are read by :mod:`mailtool.policy`, the code ``mailtool
diagnose`` reports from.
"""
