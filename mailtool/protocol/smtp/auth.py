"""The SMTP replies for SASL outcomes (RFC 4954 §4, §6)."""

from __future__ import annotations

from mailtool.protocol.sasl import (
    SaslAuthFailed,
    SaslCancelled,
    SaslError,
    SaslMalformed,
    SaslUnsupported,
)

from . import codes
from .reply import Reply


def reply_for_sasl_error(exc: SaslError) -> Reply:
    """What a server answers when the SASL exchange raised ``exc``."""
    if isinstance(exc, SaslAuthFailed):
        return Reply(codes.C535_AUTH_INVALID, ("authentication failed",), codes.ES_BAD_CREDENTIALS)
    if isinstance(exc, SaslCancelled):  # RFC 4954 §4: "*" -> 501
        return Reply(codes.C501_PARAM_SYNTAX_ERROR, ("authentication cancelled",), "5.0.0")
    if isinstance(exc, SaslUnsupported):
        return Reply(
            codes.C504_PARAM_NOT_IMPLEMENTED, ("mechanism not supported",), codes.ES_INVALID_ARGS
        )
    if isinstance(exc, SaslMalformed):
        return Reply(codes.C501_PARAM_SYNTAX_ERROR, (str(exc)[:200],), codes.ES_SYNTAX)
    return Reply(codes.C454_TEMP_AUTH_FAILURE, ("authentication failed",), codes.ES_TEMP_POLICY)
