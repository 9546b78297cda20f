"""A client account: the ``[accounts.NAME]`` config plus where its password comes from.

Password sources, tried in this order (the first that yields wins):

1. ``password_command`` - a shell command whose first output line is the
   password (``pass show mail/alice``, ``secret-tool lookup ...``);
2. the system keyring, only when the optional ``keyring`` package is
   importable (service ``mailtool``, user = the login name); never required;
3. a prompt, through a callback the caller supplies (the TUI shows a masked
   input, ``mailtool send`` uses ``click.prompt``).

The password is kept in memory only, never logged and never written.
"""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailtool.config import AccountConfig, Config, parse_hostport
from mailtool.errors import AuthError, ConfigError

KEYRING_SERVICE = "mailtool"
DEFAULT_PORTS = {
    ("imap", "tls"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("smtp", "tls"): 465,
    ("smtp", "starttls"): 587,
    ("smtp", "none"): 587,
}

Prompt = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class Endpoint:
    """One server: host, port, TLS mode (``tls`` / ``starttls`` / ``none``), verify flag,
    and an extra CA file to trust (empty: the system's)."""

    host: str
    port: int
    tls: str
    verify: bool = True
    cafile: str = ""


@dataclass
class Account:
    """An account ready to connect: endpoints resolved, password fetched lazily."""

    name: str
    email: str
    username: str
    display_name: str
    imap: Endpoint
    smtp: Endpoint
    password_command: str = ""
    #: ``[accounts.X] pgp_key``: the key that signs (empty: gpg's default)
    pgp_key: str = ""
    _password: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, name: str, cfg: AccountConfig) -> Account:
        key = f"accounts.{name}"
        if not cfg.email:
            raise ConfigError("email is required", key=f"{key}.email")
        endpoints = {}
        for proto, value, mode in (
            ("imap", cfg.imap, cfg.imap_tls),
            ("smtp", cfg.smtp, cfg.smtp_tls),
        ):
            if not value:
                raise ConfigError('required, "HOST:PORT"', key=f"{key}.{proto}")
            host, port = parse_hostport(
                value, key=f"{key}.{proto}", default_port=DEFAULT_PORTS[(proto, mode)]
            )
            endpoints[proto] = Endpoint(host, port, mode, cfg.verify_tls, cfg.cafile)
        return cls(
            name=name,
            email=cfg.email,
            username=cfg.username or cfg.email,
            display_name=cfg.name,
            imap=endpoints["imap"],
            smtp=endpoints["smtp"],
            password_command=cfg.password_command,
            pgp_key=cfg.pgp_key,
        )

    @property
    def from_header(self) -> str:
        """The From: value for this identity (RFC 5322 name-addr when a name is set)."""
        from email.headerregistry import Address

        return (
            str(Address(self.display_name, addr_spec=self.email))
            if self.display_name
            else self.email
        )

    def set_password(self, password: str) -> None:
        self._password = password

    def forget_password(self) -> None:
        """The server refused it: the next :meth:`password` asks its source again."""
        self._password = None

    async def password(self, prompt: Prompt | None = None) -> str:
        """The password, from the first source that has one (see the module docstring)."""
        if self._password is not None:
            return self._password
        pw = run_password_command(self.password_command) if self.password_command else None
        if pw is None:
            pw = keyring_password(self.username)
        if pw is None and prompt is not None:
            pw = await prompt(f"Password for {self.username} ({self.name})")
        if pw is None:
            raise AuthError(
                f"no password for account {self.name!r}: set password_command, "
                "store one in the keyring, or run interactively"
            )
        self._password = pw
        return pw


def run_password_command(command: str) -> str:
    """Run ``command`` through the shell; its first output line is the password."""
    try:
        out = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuthError(f"password_command failed: {exc}") from None
    if out.returncode != 0:
        # the stderr may help; the stdout may hold a secret: never show it
        raise AuthError(f"password_command exited {out.returncode}: {out.stderr.strip()[:200]}")
    return out.stdout.split("\n", 1)[0].rstrip("\r")


def keyring_password(username: str) -> str | None:
    """The keyring's password for ``username``; None when keyring is absent or has none."""
    try:
        import keyring  # optional: never a dependency
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, username)
    except Exception:  # any backend failure means "no password here"
        return None


def load_account(cfg: Config, name: str | None) -> Account:
    """The account called ``name``, or the only/first one when ``name`` is None."""
    if not cfg.accounts:
        raise ConfigError(
            "no [accounts.NAME] table; add one or run `mailtool tui --setup`", file=cfg.source
        )
    if name is None:
        name = next(iter(cfg.accounts))
    if name not in cfg.accounts:
        raise ConfigError(
            f"no account {name!r}; known: {', '.join(cfg.accounts)}",
            file=cfg.source,
            key="accounts",
        )
    return Account.from_config(name, cfg.accounts[name])


def load_accounts(cfg: Config) -> list[Account]:
    return [Account.from_config(n, a) for n, a in cfg.accounts.items()]
