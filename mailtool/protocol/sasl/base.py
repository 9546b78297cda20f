"""What every SASL mechanism shares: the outcome value, the errors, the limits.

RFC 4422 §3: a mechanism is an exchange of challenges and responses; the
server half here is ``step(response) -> challenge | Done`` and the client half
``step(challenge) -> response``. Protocol framing (base64, ``334``, ``+ ``) is
the caller's, through :mod:`.framing`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailtool.errors import AuthError, ProtocolError

#: the longest single decoded SASL message a mechanism accepts; RFC 4954 §4 caps
#: the base64 line at 12288 octets, so decoded messages are below 9216
MAX_SASL_MESSAGE = 9216


@dataclass(frozen=True)
class Done:
    """The server accepted: ``authcid`` proved who it is; ``authzid`` is who it
    asks to act as (None when it did not ask). Whether an authcid may act as
    another authzid is the caller's policy (RFC 4422 §3.4.1)."""

    authcid: str
    authzid: str | None = None


class SaslError(ProtocolError):
    """A SASL exchange failed. ``reply`` is None: each protocol has its own
    answer (see ``mailtool.protocol.smtp.reply_for_sasl_error`` and
    ``mailtool.protocol.pop3.reply_for_sasl_error``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None)


class SaslMalformed(SaslError):
    """The peer sent something the mechanism cannot parse (bad base64, missing NUL)."""


class SaslCancelled(SaslError):
    """The client cancelled the exchange with ``*`` (RFC 4422 §3.5)."""


class SaslAuthFailed(SaslError, AuthError):
    """The credentials were wrong (or the server's proof was, on the client side).
    The message never contains the secret."""


class SaslUnsupported(SaslError):
    """The mechanism name is not one we implement."""


def check_length(data: bytes, limit: int = MAX_SASL_MESSAGE) -> None:
    if len(data) > limit:
        raise SaslMalformed(f"SASL message longer than {limit} octets")


def decode_utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslMalformed(f"{what} is not UTF-8") from None
