"""The mailtool exception tree.

Every error mailtool raises on purpose derives from :class:`MailtoolError`, so a
command-line entry point can catch it once and print a message instead of a
traceback::

    MailtoolError
    ├── ConfigError            a config file or value is wrong (names file, key, expected)
    │   └── ConfigErrors       several of them, reported together
    ├── StoreError             persistence failed
    │   ├── NotFound           a domain, user, alias, mailbox or message does not exist
    │   ├── AlreadyExists      it exists already
    │   ├── QuotaExceeded      a write would exceed a user's quota
    │   ├── StoreUnavailable   the database cannot be reached now (try again: 4xx, NO [UNAVAILABLE])
    │   └── SchemaMismatch     the database's schema is not the one this mailtool knows
    ├── ProtocolError          bytes on the wire broke a protocol rule; carries the reply
    │                          (subclasses live in mailtool.protocol.*)
    ├── AuthError              authentication failed (never carries the secret)
    ├── DeliveryError          a message could not be delivered
    │   ├── TemporaryFailure   try again later (4xx)
    │   └── PermanentFailure   give up and bounce (5xx)
    └── ServiceError           a server could not start (port taken, data dir not writable)
"""

from __future__ import annotations


class MailtoolError(Exception):
    """Base of every deliberate mailtool error."""

    #: process exit code used by the CLI when this error reaches it
    exit_code: int = 1


class ConfigError(MailtoolError):
    """A config file, key or value is wrong."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ": ".join(p for p in (file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.key = key


class ConfigErrors(ConfigError):
    """Several config mistakes at once, each a :class:`ConfigError`, one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class StoreError(MailtoolError):
    """Persistence failed."""


class NotFound(StoreError):
    """A domain, user, alias, mailbox or message does not exist."""


class AlreadyExists(StoreError):
    """The thing to create exists already."""


class QuotaExceeded(StoreError):
    """A write would take a user over their storage or message quota."""


class StoreUnavailable(StoreError):
    """The shared database cannot be reached just now: a temporary failure (SMTP 4xx,
    IMAP ``NO [UNAVAILABLE]``, POP3 ``-ERR [SYS/TEMP]``); nothing was written."""


class SchemaMismatch(StoreError):
    """The database's schema is missing, older or newer than this mailtool's; the message
    names the command that fixes it."""

    exit_code = 2


class ProtocolError(MailtoolError):
    """Bytes received broke a protocol rule.

    Subclasses in ``mailtool.protocol`` know the reply to send back (an SMTP
    code, an IMAP tagged/untagged response, a POP3 ``-ERR``); ``reply`` holds it
    when the raiser knows it.
    """

    def __init__(self, message: str, reply: object | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class AuthError(MailtoolError):
    """Authentication failed. Never include the secret in the message."""


class DeliveryError(MailtoolError):
    """A message could not be delivered."""

    def __init__(self, message: str, *, code: int = 451, enhanced: str = "4.3.0") -> None:
        super().__init__(message)
        self.code = code
        self.enhanced = enhanced


class TemporaryFailure(DeliveryError):
    """Try again later (an SMTP 4xx)."""


class PermanentFailure(DeliveryError):
    """Give up and bounce (an SMTP 5xx)."""

    def __init__(self, message: str, *, code: int = 550, enhanced: str = "5.0.0") -> None:
        super().__init__(message, code=code, enhanced=enhanced)


class ServiceError(MailtoolError):
    """A server could not start: a port is taken, the data dir is not writable."""

    exit_code = 3
