"""SMTP reply codes and enhanced status codes as named constants.

Why constants: a reply written as ``550`` in one place and ``C550_MAILBOX_UNAVAILABLE``
in another cannot be grepped or reviewed; the names say which RFC situation a
reply is for (the model is mox's ``smtp/codes.go``).

Reply codes are RFC 5321 §4.2.2/§4.2.3 plus the extensions that added codes
(RFC 4954 AUTH, RFC 3207 STARTTLS, RFC 1870 SIZE). Enhanced status codes are
RFC 3463 and the IANA "SMTP Enhanced Status Codes" registry; they are kept
*without* their class digit (``"1.1"``, the ``subject.detail`` part) because the
same condition is reported as 4.x.x or 5.x.x depending on the reply: use
:func:`enhanced` to join them, or the ready-made ``ES_*`` full codes below.
"""

from __future__ import annotations

# --- Reply codes, RFC 5321 §4.2.3 -------------------------------------------
C211_SYSTEM_STATUS = 211
C214_HELP = 214
C220_SERVICE_READY = 220
C221_CLOSING = 221
C235_AUTH_SUCCESS = 235  # RFC 4954 §6
C250_OK = 250
C251_USER_NOT_LOCAL_WILL_FORWARD = 251
C252_CANNOT_VRFY = 252

C334_CONTINUE = 334  # RFC 4954 §4 (AUTH challenge)
C354_START_DATA = 354

C421_SERVICE_UNAVAILABLE = 421
C432_PASSWORD_TRANSITION_NEEDED = 432  # RFC 4954 §6
C450_MAILBOX_UNAVAILABLE = 450
C451_LOCAL_ERROR = 451
C452_INSUFFICIENT_STORAGE = 452
C454_TEMP_AUTH_FAILURE = 454  # RFC 4954 §6; also RFC 3207 TLS not available
C455_PARAMETERS_UNACCOMMODATED = 455

C500_SYNTAX_ERROR = 500
C501_PARAM_SYNTAX_ERROR = 501
C502_NOT_IMPLEMENTED = 502
C503_BAD_SEQUENCE = 503
C504_PARAM_NOT_IMPLEMENTED = 504
C521_DOES_NOT_ACCEPT_MAIL = 521  # RFC 7504
C530_AUTH_REQUIRED = 530  # RFC 4954 §6 (also "must issue STARTTLS first", RFC 3207)
C534_AUTH_MECH_TOO_WEAK = 534  # RFC 4954 §6
C535_AUTH_INVALID = 535  # RFC 4954 §6
C538_ENCRYPTION_REQUIRED = 538  # RFC 4954 §6
C550_MAILBOX_UNAVAILABLE = 550
C551_USER_NOT_LOCAL = 551
C552_STORAGE_EXCEEDED = 552
C553_MAILBOX_NAME_NOT_ALLOWED = 553
C554_TRANSACTION_FAILED = 554
C555_PARAMS_NOT_RECOGNIZED = 555  # RFC 5321 §4.1.1.11

# --- Enhanced status code classes, RFC 3463 §3.1 -----------------------------
CLASS_SUCCESS = 2
CLASS_TRANSIENT = 4
CLASS_PERMANENT = 5

# --- Enhanced status subject.detail, RFC 3463 §3.2+ and the IANA registry ----
# X.0.x other
SE_OTHER0 = "0.0"
# X.1.x addressing, RFC 3463 §3.3
SE_ADDR_OTHER0 = "1.0"
SE_ADDR_BAD_DEST_MAILBOX1 = "1.1"
SE_ADDR_BAD_DEST_SYSTEM2 = "1.2"
SE_ADDR_BAD_DEST_SYNTAX3 = "1.3"
SE_ADDR_DEST_AMBIGUOUS4 = "1.4"
SE_ADDR_DEST_VALID5 = "1.5"
SE_ADDR_DEST_MOVED6 = "1.6"
SE_ADDR_BAD_SENDER_SYNTAX7 = "1.7"
SE_ADDR_BAD_SENDER_SYSTEM8 = "1.8"
SE_ADDR_RELAYED_NON_COMPLIANT9 = "1.9"  # RFC 3886
SE_ADDR_NULL_MX10 = "1.10"  # RFC 7505 §4.2
# X.2.x mailbox
SE_MAILBOX_OTHER0 = "2.0"
SE_MAILBOX_DISABLED1 = "2.1"
SE_MAILBOX_FULL2 = "2.2"
SE_MAILBOX_MSG_TOO_BIG3 = "2.3"
SE_MAILBOX_EXPANSION4 = "2.4"
# X.3.x mail system
SE_SYS_OTHER0 = "3.0"
SE_SYS_STORAGE_FULL1 = "3.1"
SE_SYS_NOT_ACCEPTING2 = "3.2"
SE_SYS_FEATURE_UNSUPPORTED3 = "3.3"
SE_SYS_MSG_TOO_BIG4 = "3.4"
SE_SYS_MISCONFIGURED5 = "3.5"
# X.4.x network and routing
SE_NET_OTHER0 = "4.0"
SE_NET_NO_ANSWER1 = "4.1"
SE_NET_BAD_CONNECTION2 = "4.2"
SE_NET_DIRECTORY_FAILURE3 = "4.3"
SE_NET_UNABLE_TO_ROUTE4 = "4.4"
SE_NET_CONGESTION5 = "4.5"
SE_NET_LOOP6 = "4.6"
SE_NET_EXPIRED7 = "4.7"
# X.5.x mail delivery protocol
SE_PROTO_OTHER0 = "5.0"
SE_PROTO_INVALID_COMMAND1 = "5.1"
SE_PROTO_SYNTAX2 = "5.2"
SE_PROTO_TOO_MANY_RCPTS3 = "5.3"
SE_PROTO_INVALID_ARGS4 = "5.4"
SE_PROTO_WRONG_VERSION5 = "5.5"
SE_PROTO_AUTH_LINE_TOO_LONG6 = "5.6"  # RFC 4954
# X.6.x message content or media
SE_MEDIA_OTHER0 = "6.0"
SE_MEDIA_UNSUPPORTED1 = "6.1"
SE_MEDIA_CONV_PROHIBITED2 = "6.2"
SE_MEDIA_CONV_UNSUPPORTED3 = "6.3"
SE_MEDIA_CONV_LOSSY4 = "6.4"
SE_MEDIA_CONV_FAILED5 = "6.5"
SE_MEDIA_CONTENT_UNAVAILABLE6 = "6.6"  # RFC 4468
SE_MEDIA_NON_ASCII_ADDR7 = "6.7"  # RFC 6531
SE_MEDIA_UTF8_REPLY_REQUIRED8 = "6.8"  # RFC 6531
SE_MEDIA_UTF8_CANNOT_TRANSFER9 = "6.9"  # RFC 6531
# X.7.x security or policy
SE_POL_OTHER0 = "7.0"
SE_POL_DELIVERY_NOT_AUTHORIZED1 = "7.1"
SE_POL_EXPANSION_PROHIBITED2 = "7.2"
SE_POL_CONVERSION_PROHIBITED3 = "7.3"
SE_POL_FEATURE_UNSUPPORTED4 = "7.4"
SE_POL_CRYPTO_FAILURE5 = "7.5"
SE_POL_CRYPTO_UNSUPPORTED6 = "7.6"
SE_POL_INTEGRITY_FAILED7 = "7.7"
SE_POL_BAD_CREDENTIALS8 = "7.8"  # RFC 4954 §6
SE_POL_MECH_TOO_WEAK9 = "7.9"  # RFC 4954 §6
SE_POL_ENCRYPTION_NEEDED10 = "7.10"  # RFC 5248
SE_POL_ENCRYPTION_REQUIRED11 = "7.11"  # RFC 4954 §6 (for the requested mechanism)
SE_POL_PASSWORD_TRANSITION12 = "7.12"  # RFC 4954 §6
SE_POL_ACCOUNT_DISABLED13 = "7.13"  # RFC 5248
SE_POL_TRUST_NOT_ESTABLISHED14 = "7.14"  # RFC 5248
SE_POL_PRIORITY_TOO_LOW15 = "7.15"  # RFC 6710
SE_POL_MSG_TOO_BIG_FOR_PRIORITY16 = "7.16"  # RFC 6710
SE_POL_MAILBOX_OWNER_CHANGED17 = "7.17"  # RFC 7293
SE_POL_DOMAIN_OWNER_CHANGED18 = "7.18"  # RFC 7293
SE_POL_RRVS_CANNOT_COMPLETE19 = "7.19"  # RFC 7293
SE_POL_NO_DKIM_PASS20 = "7.20"  # RFC 7372
SE_POL_NO_ACCEPTABLE_DKIM21 = "7.21"
SE_POL_NO_AUTHOR_MATCHED_DKIM22 = "7.22"
SE_POL_SPF_FAIL23 = "7.23"  # RFC 7372
SE_POL_SPF_ERROR24 = "7.24"
SE_POL_REVERSE_DNS_FAIL25 = "7.25"
SE_POL_MULTIPLE_AUTH_FAILS26 = "7.26"
SE_POL_SENDER_NULL_MX27 = "7.27"  # RFC 7505 §4.3
SE_POL_REQUIRETLS30 = "7.30"  # RFC 8689


def enhanced(code: int, subject_detail: str) -> str:
    """Join a reply code's class digit and a ``SE_*`` constant: ``enhanced(550, "1.1")``
    is ``"5.1.1"``. RFC 3463 §3.1: the class of the enhanced code must agree with
    the reply code's first digit (2, 4 or 5)."""
    cls = code // 100
    if cls == 3:  # intermediate replies (334, 354) carry a 2.x.x code if any
        cls = CLASS_SUCCESS
    return f"{cls}.{subject_detail}"


# --- Common full codes (the reply that goes with each is in the comment) ----
ES_OK = "2.0.0"  # 250 generic success
ES_SENDER_OK = "2.1.0"  # 250 MAIL FROM accepted
ES_RECIPIENT_OK = "2.1.5"  # 250 RCPT TO accepted
ES_MESSAGE_ACCEPTED = "2.6.0"  # 250 after DATA
ES_AUTH_OK = "2.7.0"  # 235 authentication succeeded (RFC 4954)
ES_CLOSING = "2.0.0"  # 221
ES_MAILBOX_FULL_TEMP = "4.2.2"  # 452 / 450 mailbox full, try later
ES_SYSTEM_TEMP = "4.3.0"  # 451 local error
ES_STORAGE_TEMP = "4.3.1"  # 452 system storage
ES_NET_NO_ANSWER = "4.4.1"  # outbound: no answer from host
ES_NET_BAD_CONNECTION = "4.4.2"  # 421 connection dropped / timeout
ES_NET_DNS_TEMP = "4.4.3"  # DNS temporary failure
ES_NET_UNROUTABLE_TEMP = "4.4.4"
ES_NET_CONGESTION = "4.4.5"  # 421 too many connections
ES_NET_EXPIRED = "4.4.7"  # queue lifetime expired
ES_TEMP_POLICY = "4.7.0"  # 454 / 451 greylist, TLS not available now
ES_TEMP_NOT_AUTHORIZED = "4.7.1"  # 450/451 temporary policy rejection
ES_TOO_MANY_RCPTS = "4.5.3"  # 452 too many recipients (RFC 5321 §4.5.3.1.10)
ES_UNKNOWN_USER = "5.1.1"  # 550 no such mailbox
ES_BAD_DEST_SYSTEM = "5.1.2"  # 550 no such domain
ES_BAD_DEST_SYNTAX = "5.1.3"  # 501/553 bad recipient address syntax
ES_BAD_SENDER_SYNTAX = "5.1.7"  # 501/553 bad sender address syntax
ES_BAD_SENDER_SYSTEM = "5.1.8"  # 550 sender domain does not exist
ES_NULL_MX = "5.1.10"  # 556/550 recipient domain has a null MX, RFC 7505
ES_MAILBOX_FULL = "5.2.2"  # 552 mailbox full
ES_MSG_TOO_BIG = "5.3.4"  # 552 message bigger than the system limit
ES_LOOP = "5.4.6"  # 554 routing loop (too many Received headers)
ES_PROTO = "5.5.0"  # 500 other protocol error
ES_INVALID_COMMAND = "5.5.1"  # 500/502 unrecognized or invalid command
ES_SYNTAX = "5.5.2"  # 500/501 syntax error
ES_INVALID_ARGS = "5.5.4"  # 501/555 invalid command arguments / parameters
ES_AUTH_LINE_TOO_LONG = "5.5.6"  # 500 AUTH exchange line too long (RFC 4954 §4)
ES_MEDIA = "5.6.0"  # 554 content problem
ES_NON_ASCII_ADDRESS = "5.6.7"  # 553 non-ASCII address without SMTPUTF8 (RFC 6531 §3.5)
ES_POLICY = "5.7.0"  # 530/550 other security or policy status
ES_RELAY_DENIED = "5.7.1"  # 550/554 delivery not authorized (relay denied, sender mismatch)
ES_BAD_CREDENTIALS = "5.7.8"  # 535 authentication credentials invalid (RFC 4954)
ES_MECH_TOO_WEAK = "5.7.9"  # 534 (RFC 4954)
ES_ENCRYPTION_REQUIRED = "5.7.11"  # 538 (RFC 4954)
ES_AUTH_REQUIRED = "5.7.0"  # 530 authentication required (RFC 4954 §6)
