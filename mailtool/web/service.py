"""The ``https`` and ``http`` listeners of ``mailtool serve`` (``[listen] https/http``).

``create(ctx, name, host, port)`` (see :mod:`mailtool.server`) returns a
:class:`WebService`. What is served, by Host and path:

========================================================  =============  ======
``mta-sts.DOMAIN/.well-known/mta-sts.txt``                 RFC 8461 §3.3  https
``autoconfig.DOMAIN/mail/config-v1.1.xml``,                Thunderbird    both
``DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml``
``autodiscover.DOMAIN/autodiscover/autodiscover.xml``      Outlook (POST) https
``/.well-known/acme-challenge/TOKEN``                      RFC 8555 §8.3  http
========================================================  =============  ======

DOMAIN must be a hosted domain (``mailtool domain add``); anything else is 404.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mailtool.net.connection import Connection
from mailtool.net.listener import StreamListener
from mailtool.net.log import log_event
from mailtool.web import content
from mailtool.web.http import HttpLimits, Request, Response, serve_connection, text

if TYPE_CHECKING:
    from mailtool.server import ServerContext

BUSY_REPLY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
ACME_PREFIX = "/.well-known/acme-challenge/"
AUTOCONFIG_PATHS = ("/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml")
AUTODISCOVER_PATHS = ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml")
#: RFC 8737 §6.2 (mailtool.acme.alpn answers these handshakes)
ACME_TLS_ALPN = "acme-tls/1"


class Http01Answers(dict[str, str]):
    """token -> key authorization: what the ACME client publishes for http-01."""


def http01_answers(ctx: ServerContext) -> Http01Answers:
    """This process's one :class:`Http01Answers`, shared by the ACME client and the
    ``http`` listener."""
    return ctx.shared(Http01Answers, Http01Answers)


class WebService:
    """One HTTP listener; ``secure`` for the implicit-TLS one."""

    def __init__(self, ctx: ServerContext, name: str, host: str, port: int) -> None:
        self.ctx = ctx
        self.secure = name == "https"
        self.limits = HttpLimits()
        self.listener = StreamListener(
            name, host, port, self.handle,
            limiter=ctx.limiter(), busy_reply=BUSY_REPLY,
            ssl_context=ctx.certs.context if self.secure else None,
            limits=ctx.connection_limits(),
        )  # fmt: skip

    async def start(self) -> tuple[str, int]:
        return await self.listener.start()

    async def stop(self, grace: float = 10.0) -> None:
        await self.listener.stop(grace)

    async def handle(self, conn: Connection) -> None:
        ssl_object = conn.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() == ACME_TLS_ALPN:
            conn.outcome = "acme-tls-alpn"
            return  # RFC 8737 §3: the validation is the handshake; no data follows
        await serve_connection(conn, self.respond, self.limits)

    async def respond(self, request: Request, conn: Connection) -> Response:
        try:
            response = self.route(request)
        except Exception:  # a bug: a 500, never a traceback on the wire
            logging.getLogger("mailtool").exception("web.crash id=%s", conn.id)
            response = text(500, "internal error\n")
        log_event("web.request", id=conn.id, method=request.method[:16], host=request.host[:255],
                  path=request.path[:255], status=response.status)  # fmt: skip
        return response

    def route(self, request: Request) -> Response:
        path, host = request.path, request.host
        if path.startswith(ACME_PREFIX) and not self.secure:
            return self._allow(request, ("GET", "HEAD")) or self.acme_answer(path)
        if path in AUTOCONFIG_PATHS:
            return self._allow(request, ("GET", "HEAD")) or self.autoconfig(request)
        if not self.secure:
            return text(404, "not found\n")
        if path == "/.well-known/mta-sts.txt":
            return self._allow(request, ("GET", "HEAD")) or self.mta_sts(host)
        if path in AUTODISCOVER_PATHS:
            return self._allow(request, ("POST",)) or self.autodiscover(request)
        return text(404, "not found\n")

    @staticmethod
    def _allow(request: Request, methods: tuple[str, ...]) -> Response | None:
        if request.method in methods:
            return None
        return Response(405, b"method not allowed\n", headers={"Allow": ", ".join(methods)})

    @property
    def bound(self) -> dict[str, tuple[str, int]]:
        """What ``serve`` bound (:class:`mailtool.server.MailServer` fills it)."""
        return self.ctx.listeners

    def hosted(self, domain: str) -> bool:
        if not domain or len(domain) > 253:
            return False
        try:
            return bool(self.ctx.accounts.is_local_domain(domain))
        except Exception:  # a malformed name (IDNA)
            return False

    def acme_answer(self, path: str) -> Response:
        # RFC 8555 §8.3: the body is the key authorization, nothing else
        answer = http01_answers(self.ctx).get(path[len(ACME_PREFIX) :])
        if answer is None:
            return text(404, "no such challenge\n")
        return Response(200, answer.encode("ascii"), content_type="application/octet-stream")

    def mta_sts(self, host: str) -> Response:
        # RFC 8461 §3.3: the policy host is "mta-sts." + the Policy Domain
        domain = host.removeprefix("mta-sts.")
        if domain == host or not self.hosted(domain):
            return text(404, "no MTA-STS policy for this host\n")
        return Response(200, content.mta_sts_policy(self.ctx.config).encode(), "text/plain")

    def autoconfig(self, request: Request) -> Response:
        address = (request.query.get("emailaddress") or [""])[0]
        domain = address.rpartition("@")[2].lower() if "@" in address else ""
        domain = domain or request.host.removeprefix("autoconfig.")
        if not self.hosted(domain):
            return text(404, "not a domain of this server\n")
        body = content.autoconfig_xml(self.ctx.config, domain, self.bound).encode()
        return Response(200, body, "application/xml; charset=utf-8")

    def autodiscover(self, request: Request) -> Response:
        address = content.autodiscover_address(request.body)
        if address is None:
            return text(400, "no EMailAddress in the request\n")
        if not self.hosted(address.rpartition("@")[2].lower()):
            return text(404, "not a domain of this server\n")
        body = content.autodiscover_xml(self.ctx.config, address, self.bound).encode()
        return Response(200, body, "application/xml; charset=utf-8")


def create(ctx: ServerContext, name: str, host: str, port: int) -> WebService:
    """The factory :data:`mailtool.server.SERVICES` names for ``https`` and ``http``."""
    return WebService(ctx, name, host, port)
