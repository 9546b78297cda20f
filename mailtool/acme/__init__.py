"""Certificates from an ACME CA (RFC 8555), e.g. Let's Encrypt, for ``[tls] acme = true``.

- :mod:`mailtool.acme.client`   one issuance: account, order, http-01, finalize (sync;
  built on certbot's maintained ``acme`` package: no JWS of our own)
- :mod:`mailtool.acme.manager`  the serve-time loop: which names, when to renew, backoff,
  writing the files and reloading the live TLS context

The http-01 answers are served by :mod:`mailtool.web.service` on ``[listen] http``.
"""
