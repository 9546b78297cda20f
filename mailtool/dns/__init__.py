"""mailtool.dns: the only module that imports dnspython.

Public API (all lookups are coroutines)::

    resolver = Resolver(["127.0.0.1:5353"])       # or resolver_from_config(cfg)
    mx = await resolver.resolve_mx("example.test")  # MXResult: hosts, implicit, null
    await resolver.resolve_addresses("mx.example.test")  # ["::1", "127.0.0.2"]
    await resolver.txt(name); await resolver.ptr(ip); await resolver.srv(name)
    await resolver.tlsa(host, port=25)
    await resolver.lookup(name, "TXT")              # Lookup: records, nxdomain, authenticated

Errors: :class:`DNSTemporaryError` (defer, 4.4.3), :class:`NXDomain` /
:class:`DNSPermanentError` (bounce, 5.1.2), :class:`NullMX` (bounce, 5.1.10).
"""

from .errors import DNSError, DNSPermanentError, DNSTemporaryError, NullMX, NXDomain
from .mx import MXHost, MXResult, order_by_preference, resolve_mx
from .records import SRVRecord, TLSARecord, ptr, resolve_addresses, srv, tlsa, tlsa_name, txt
from .resolver import Lookup, Resolver, parse_nameserver, resolver_from_config, reverse_name

__all__ = [
    "DNSError",
    "DNSPermanentError",
    "DNSTemporaryError",
    "Lookup",
    "MXHost",
    "MXResult",
    "NXDomain",
    "NullMX",
    "Resolver",
    "SRVRecord",
    "TLSARecord",
    "order_by_preference",
    "parse_nameserver",
    "ptr",
    "resolve_addresses",
    "resolve_mx",
    "resolver_from_config",
    "reverse_name",
    "srv",
    "tlsa",
    "tlsa_name",
    "txt",
]
