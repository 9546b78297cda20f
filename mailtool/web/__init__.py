"""The HTTPS side of a mail domain (issue 20): a small HTTP/1.1 server of our own on
the one connection layer (:mod:`mailtool.net`), serving what mail clients and sending
servers fetch over HTTP: the MTA-STS policy (RFC 8461), Thunderbird autoconfig, Outlook
autodiscover (POX), and ACME http-01 challenge answers (RFC 8555 §8.3).

- :mod:`mailtool.web.http`     request parsing and responses, every part bounded
- :mod:`mailtool.web.content`  the documents served, built from the config
- :mod:`mailtool.web.service`  the ``https`` / ``http`` listeners ``mailtool serve`` runs
"""
