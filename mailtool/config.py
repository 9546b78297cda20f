"""One TOML file -> frozen dataclasses.

The file is optional: every key has a default, so ``mailtool serve`` with no
config runs the embedded set-up. The key names are a public interface (scripts
and docs rely on them); ``docs/configuration.md`` is generated from the field
metadata here (``mailtool config docs``).

Errors name the file, the key, what was given and what was expected, and are
:class:`~mailtool.errors.ConfigError` (exit code 2).
"""

from __future__ import annotations

import dataclasses
import inspect
import ipaddress
import os
import socket
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailtool.errors import ConfigError, ConfigErrors

ENV_CONFIG = "MAILTOOL_CONFIG"
ENV_DATA_DIR = "MAILTOOL_DATA_DIR"
ENV_NAMESERVERS = "MAILTOOL_NAMESERVERS"
#: overrides /etc/mailtool/mailtool.toml as the system-wide file (packagers; the test suite)
ENV_SYSTEM_CONFIG = "MAILTOOL_SYSTEM_CONFIG"
SYSTEM_CONFIG = "/etc/mailtool/mailtool.toml"
TLS_MODES = ("tls", "starttls", "none")

#: service name -> (standard port, unprivileged twin used when not root)
SERVICE_PORTS: dict[str, tuple[int, int]] = {
    "smtp": (25, 2525),
    "submission": (587, 2587),
    "submissions": (465, 2465),
    "imap": (143, 2143),
    "imaps": (993, 2993),
    "pop3": (110, 2110),
    "pop3s": (995, 2995),
    "managesieve": (4190, 24190),
}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_data_dir() -> Path:
    """``/var/lib/mailtool`` for root, ``$XDG_DATA_HOME/mailtool`` otherwise."""
    if _is_root():
        return Path("/var/lib/mailtool")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "mailtool"


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/mailtool/mailtool.toml`` (default ``~/.config/...``)."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "mailtool" / "mailtool.toml"


def system_config_path() -> Path:
    """``/etc/mailtool/mailtool.toml`` (or ``$MAILTOOL_SYSTEM_CONFIG``)."""
    return Path(os.environ.get(ENV_SYSTEM_CONFIG) or SYSTEM_CONFIG)


def config_search_path() -> list[Path]:
    """Where a command looks for its config when neither ``--config`` nor
    ``$MAILTOOL_CONFIG`` names one: the user's file, then the system's."""
    return [user_config_path(), system_config_path()]


def discover_config() -> Path | None:
    """The first file of :func:`config_search_path` that exists, else None (defaults)."""
    for candidate in config_search_path():
        if candidate.is_file():
            return candidate
    return None


def default_listen(service: str) -> str:
    """Standard port on all addresses when root, the twin port on loopback otherwise."""
    standard, twin = SERVICE_PORTS[service]
    return f"0.0.0.0:{standard}" if _is_root() else f"127.0.0.1:{twin}"


def _listen_left_out(listen: Any) -> dict[str, str | bool]:
    """What the listeners missing from a ``[listen]`` table bind (ListenConfig's doc):
    the one host the named ones use, else off. A missing listener must not open
    0.0.0.0 when the admin put every other one on loopback."""
    if not isinstance(listen, dict):
        return {}
    hosts = set()
    for name, value in listen.items():
        if name in SERVICE_PORTS and isinstance(value, str):
            try:
                hosts.add(parse_hostport(value)[0])
            except ConfigError:
                return {}  # reported with its key by _validate
    if not hosts:
        return {}  # nothing named (or all false): the defaults
    host = hosts.pop() if len(hosts) == 1 else None
    out: dict[str, str | bool] = {}
    for service, (standard, twin) in SERVICE_PORTS.items():
        if service not in listen:
            port = standard if _is_root() else twin
            bracketed = f"[{host}]" if host and ":" in host else host
            out[service] = f"{bracketed}:{port}" if host else False
    return out


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


def _listener(service: str, what: str) -> Any:
    standard, twin = SERVICE_PORTS[service]
    return field(
        default_factory=lambda: default_listen(service),
        metadata=_doc(f"{what}; {standard} when root, {twin} otherwise."),
    )


@dataclass(frozen=True)
class ListenConfig:
    """Where each server listens: ``"HOST:PORT"``, or ``false`` to switch it off.

    A listener left out of ``[listen]`` binds the host the named ones use, on its own
    default port (every named one on 127.0.0.1: it too, never 0.0.0.0); when the named
    ones use different hosts, a listener left out is off. With none named: the defaults
    below."""

    smtp: str | bool = _listener("smtp", "Inbound SMTP (MX) listener")
    submission: str | bool = _listener("submission", "Submission with STARTTLS (RFC 6409)")
    submissions: str | bool = _listener("submissions", "Submission over implicit TLS (RFC 8314)")
    imap: str | bool = _listener("imap", "IMAP with STARTTLS")
    imaps: str | bool = _listener("imaps", "IMAP over implicit TLS")
    pop3: str | bool = _listener("pop3", "POP3 with STLS")
    pop3s: str | bool = _listener("pop3s", "POP3 over implicit TLS")
    managesieve: str | bool = _listener("managesieve", "ManageSieve (RFC 5804) with STARTTLS")
    https: str | bool = field(
        default=False,
        metadata=_doc(
            'HTTPS (e.g. "0.0.0.0:443"): the MTA-STS policy, autoconfig and autodiscover; '
            "off unless named (mailtool quickstart names it)."
        ),
    )
    http: str | bool = field(
        default=False,
        metadata=_doc(
            'Plain HTTP (e.g. "0.0.0.0:80"): ACME http-01 answers and autoconfig; off unless named.'
        ),
    )
    proxy_from: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            'Addresses or CIDRs of TCP proxies (HAProxy "send-proxy-v2" or "send-proxy") '
            "whose connections, on every listener, start with a PROXY protocol v2 or v1 "
            "header naming the real client: limits, the login throttle, Received: and SPF "
            "see that client. A connection from these without a valid header is closed; "
            "anyone else's header is not trusted. Empty: no PROXY header is accepted.",
            listener=False,
        ),
    )

    def enabled(self) -> dict[str, tuple[str, int]]:
        """Service name -> (host, port) for every listener that is not ``false``."""
        out: dict[str, tuple[str, int]] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is False or f.metadata.get("listener") is False:
                continue
            out[f.name] = parse_hostport(str(value), key=f"listen.{f.name}")
        return out


@dataclass(frozen=True)
class ServerConfig:
    """The process: who ``mailtool serve`` runs as once its ports are bound."""

    user: str = field(
        default="mailtool",
        metadata=_doc(
            "Started as root, serve binds its ports, then runs as this user (its data dir is "
            'chowned to it, files 0600, directories 0700); "root" keeps root (not '
            "recommended). Not root: ignored. CLI commands run as root act as the data dir's "
            "owner."
        ),
    )
    create_user: bool = field(
        default=True,
        metadata=_doc(
            "Create a missing user as a system user with no shell and no home (useradd "
            "--system); false: serve exits 1 and prints the command to create it."
        ),
    )


@dataclass(frozen=True)
class TLSConfig:
    """Certificate and key. Empty: a self-signed certificate is generated in the data dir."""

    cert: str = field(default="", metadata=_doc("PEM certificate chain file; re-read on SIGHUP."))
    key: str = field(default="", metadata=_doc("PEM private key file; re-read on SIGHUP."))
    acme: bool = field(
        default=False,
        metadata=_doc(
            "Get and renew the certificate from an ACME CA (RFC 8555) for hostname, "
            "mta-sts.DOMAIN and autoconfig.DOMAIN of every hosted domain; kept in the data "
            "dir's tls/acme/, renewed 30 days before expiry without a restart. The CA's "
            "challenge (acme_challenge) is answered on our own listeners; tls.cert/tls.key "
            "must be empty."
        ),
    )
    acme_directory: str = field(
        default="https://acme-v02.api.letsencrypt.org/directory",
        metadata=_doc("The ACME directory URL (default: Let's Encrypt's production CA)."),
    )
    acme_email: str = field(
        default="", metadata=_doc("Contact address for the ACME account (expiry notices).")
    )
    acme_challenge: str = field(
        default="http-01",
        metadata=_doc(
            'How the CA checks each name: "http-01" (RFC 8555 §8.3) on [listen] http, port '
            '80 as the CA sees it; or "tls-alpn-01" (RFC 8737) on [listen] https, port 443.',
            choices=("http-01", "tls-alpn-01"),
        ),
    )
    acme_cafile: str = field(
        default="",
        metadata=_doc(
            "PEM file of a CA to trust for the ACME server's own HTTPS (a private or test "
            "CA such as pebble's); empty = the system's."
        ),
    )
    acme_names: tuple[str, ...] = field(
        default=(), metadata=_doc("More host names to put in the certificate.")
    )


@dataclass(frozen=True)
class MtaStsConfig:
    """The MTA-STS policy (RFC 8461) served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
    for every hosted domain (on [listen] https)."""

    mode: str = field(
        default="testing",
        metadata=_doc(
            'RFC 8461 §5: "testing" (report only), "enforce", or "none".',
            choices=("testing", "enforce", "none"),
        ),
    )
    max_age: int = field(
        default=604800,
        metadata=_doc(
            "Seconds senders may cache the policy (RFC 8461 §3.2: at most a year).",
            min=86400,
            max=31557600,
        ),
    )
    mx: tuple[str, ...] = field(default=(), metadata=_doc("The mx: patterns; empty = hostname."))


@dataclass(frozen=True)
class SecurityConfig:
    """Authentication policy."""

    plaintext_auth_on_loopback: bool = field(
        default=False,
        metadata=_doc(
            "Allow passwords without TLS from 127.0.0.0/8 and ::1 (for local tools and tests)."
        ),
    )
    login_failure_delay: float = field(
        default=2.0, metadata=_doc("Seconds to wait before answering a failed login.", min=0)
    )
    submission_from_check: str = field(
        default="reject",
        metadata=_doc(
            'Submission: the header From (and Sender) must be an address of the logged-in '
            'user (the user or an alias that delivers only to them). "reject": 550 5.7.1; '
            '"sender": accepted, with Sender: set to the user\'s address; "off": not checked.',
            choices=("reject", "sender", "off"),
        ),
    )
    max_login_failures_per_ip: int = field(
        default=30,
        metadata=_doc(
            "Failed logins per IP per minute, whatever the accounts, before further attempts "
            "from it are refused (password spraying).",
            min=1,
        ),
    )
    max_login_failures_per_account: int = field(
        default=10,
        metadata=_doc(
            "Failed logins for one account from one IP per minute before further attempts "
            "for it are refused; a success clears only that account's count.",
            min=1,
        ),
    )
    auth_workers: int = field(
        default=0,
        metadata=_doc(
            "Threads that check passwords (argon2id: 64 MiB and ~0.1 s of CPU each), off the "
            "event loop; 0: one per CPU, at most 4.",
            min=0,
        ),
    )
    max_auth_in_progress_per_ip: int = field(
        default=2,
        metadata=_doc(
            "Password checks one IP may have running at once; its other logins wait.", min=1
        ),
    )
    max_auth_queue: int = field(
        default=256,
        metadata=_doc(
            "Logins waiting for or in a password check, in total; past it a login gets a "
            "temporary failure (SMTP 454, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]).",
            min=1,
        ),
    )
    scram_iterations: int = field(
        default=65_536,
        metadata=_doc(
            "PBKDF2 iterations of the SCRAM-SHA-256 keys made when a password is set (and "
            "remade at a user's next password login when they differ). The default is the "
            "most that clients built on Cyrus SASL (mbsync, mutt, Postfix) accept; raise it "
            "only if none of your users' clients use Cyrus SASL.",
            min=4096,
            max=1_000_000,
        ),
    )


@dataclass(frozen=True)
class LimitsConfig:
    """Named bounds on what a client may make the server do."""

    max_message_size: int = field(
        default=50 * 1024 * 1024,
        metadata=_doc("Largest message accepted by SMTP or IMAP APPEND, in bytes.", min=1024),
    )
    max_line_length: int = field(
        default=8192,
        metadata=_doc("Longest command line, in bytes (SMTP text lines: 1000, RFC 5321).", min=512),
    )
    max_recipients: int = field(
        default=100, metadata=_doc("Recipients per SMTP transaction (RFC 5321 §4.5.3.1.8).", min=1)
    )
    max_connections: int = field(
        default=1000, metadata=_doc("Concurrent connections per listener.", min=1)
    )
    max_connections_per_ip: int = field(
        default=50, metadata=_doc("Concurrent connections from one IP address.", min=1)
    )
    max_connections_per_user: int = field(
        default=20,
        metadata=_doc("Concurrent IMAP sessions one user may have logged in.", min=1),
    )
    max_bad_commands: int = field(
        default=20, metadata=_doc("Bad commands before the server hangs up.", min=1)
    )
    output_buffer: int = field(
        default=1024 * 1024,
        metadata=_doc(
            "Unsent output one connection may have queued; past it the server waits for the "
            "client to read (a FETCH or RETR of any size is streamed within it).",
            min=16 * 1024,
        ),
    )
    write_timeout: float = field(
        default=120.0,
        metadata=_doc(
            "Seconds a client may leave our output unread before it is disconnected.", min=1
        ),
    )
    login_timeout: float = field(
        default=60.0,
        metadata=_doc(
            "Seconds from connecting to a successful login (IMAP, POP3, ManageSieve, "
            "submission); bytes trickling in do not extend it. Port 25: seconds to the first "
            "MAIL command.",
            min=1,
        ),
    )
    spool_threshold: int = field(
        default=1024 * 1024,
        metadata=_doc(
            "SMTP DATA and IMAP APPEND larger than this are spooled to a file in the data "
            "dir while they arrive, not held in memory.",
            min=4096,
        ),
    )
    smtp_max_junk_commands: int = field(
        default=100,
        metadata=_doc(
            "SMTP NOOP, RSET, VRFY and HELP a client may send between two accepted messages "
            "before it gets 421 (Postfix's smtpd_junk_command_limit): a client past its "
            "first MAIL cannot hold a slot forever with a NOOP every few minutes.",
            min=1,
        ),
    )
    smtp_idle_timeout: float = field(
        default=300.0,
        metadata=_doc("Seconds an SMTP client may stay silent (RFC 5321 §4.5.3.2).", min=1),
    )
    imap_max_line_length: int = field(
        default=64 * 1024,
        metadata=_doc(
            "Longest IMAP command line in bytes, literals excluded (Dovecot's "
            "imap_max_line_length); a longer one gets BAD and the session goes on.",
            min=1024,
        ),
    )
    imap_max_pipelined: int = field(
        default=10_000,
        metadata=_doc(
            "IMAP commands a client may send without waiting for our answers; past it "
            "each gets NO [LIMIT] (mbsync pipelines one STORE per changed message).",
            min=1,
        ),
    )
    imap_idle_timeout: float = field(
        default=1800.0,
        metadata=_doc("IMAP autologout after this many idle seconds (RFC 9051: >= 30 min).", min=1),
    )
    imap_metadata_max_entry_size: int = field(
        default=64 * 1024,
        metadata=_doc(
            "Bytes of one IMAP METADATA value (RFC 5464; beyond: NO [METADATA MAXSIZE n]).",
            min=1,
        ),
    )
    imap_metadata_max_entries: int = field(
        default=1000,
        metadata=_doc("IMAP METADATA entries one user may keep (NO [METADATA TOOMANY]).", min=1),
    )
    imap_metadata_max_total: int = field(
        default=1024 * 1024,
        metadata=_doc(
            "Bytes of all of one user's IMAP METADATA values (NO [METADATA TOOMANY]).", min=1
        ),
    )
    imap_notify_max_mailboxes: int = field(
        default=1000,
        metadata=_doc(
            "Mailboxes one IMAP NOTIFY (RFC 5465) may watch besides the selected one; a "
            "NOTIFY naming more gets NO [LIMIT].",
            min=1,
        ),
    )
    imap_notify_max_queued: int = field(
        default=1000,
        metadata=_doc(
            "IMAP NOTIFY events waiting for a busy client; past it the session says "
            "[NOTIFICATIONOVERFLOW] and stops notifying (RFC 5465 §5.8).",
            min=1,
        ),
    )
    pop3_idle_timeout: float = field(
        default=600.0,
        metadata=_doc("POP3 autologout after this many idle seconds (RFC 1939: >= 10 min).", min=1),
    )
    smtp_workers: int = field(
        default=0,
        metadata=_doc(
            "Processes accepting inbound SMTP (the smtp listener, port 25), all on the same "
            "port (SO_REUSEPORT, Linux); 0 = one more than the CPU cores, at most 4 (one more "
            "than the cores measured best: a process waiting for the disk leaves its core to "
            "another), 1 on a single core. The first process also serves submission, IMAP, "
            "POP3 and ManageSieve and runs the queue. Connection limits count for all the "
            "processes together; IMAP IDLE sees mail another process delivered at once (the "
            "store notifies across processes).",
            min=0,
        ),
    )

    @property
    def smtp_processes(self) -> int:
        """How many processes serve inbound SMTP (``smtp_workers``, 0 resolved)."""
        if self.smtp_workers:
            return self.smtp_workers
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return 1 if (cores or 1) < 2 else min((cores or 1) + 1, 4)


@dataclass(frozen=True)
class DNSConfig:
    """Which resolvers mailtool asks."""

    nameservers: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            'Resolvers as "HOST[:PORT]"; empty = the system\'s. '
            f"{ENV_NAMESERVERS}=h:p,h:p overrides it for every command."
        ),
    )


@dataclass(frozen=True)
class StoreConfig:
    """Where shared state lives: the data dir (default) or PostgreSQL (several nodes)."""

    url: str = field(
        default="",
        metadata=_doc(
            'Empty: SQLite + Maildir in data_dir. "postgresql://USER@HOST:PORT/DBNAME": '
            "accounts, mail, the queue, Sieve scripts and DKIM keys in PostgreSQL, shared by "
            "every serve node that names it (docs/scaling.md). `mailtool store init` creates "
            "the schema."
        ),
    )
    password_file: str = field(
        default="",
        metadata=_doc(
            "A file holding the database password (first line). Empty: the URL's, "
            "$PGPASSWORD or ~/.pgpass, as libpq does."
        ),
    )
    pool_size: int = field(
        default=10,
        metadata=_doc("Database connections one serve process keeps open at most.", min=1),
    )

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "postgresql" if self.url else "sqlite"


@dataclass(frozen=True)
class RelayConfig:
    """Smart host: send every outbound message through one relay instead of to the
    recipients' MX hosts (the usual set-up where port 25 is blocked). Empty ``host``:
    deliver directly by MX."""

    host: str = field(default="", metadata=_doc("Smart host name or address; empty = MX delivery."))
    port: int = field(
        default=587, metadata=_doc("Smart host port (587 submission, 465 TLS).", min=1)
    )
    tls: str = field(
        default="starttls",
        metadata=_doc(
            '"starttls" (required, not opportunistic), "tls" (implicit) or "none".',
            choices=TLS_MODES,
        ),
    )
    verify_tls: bool = field(
        default=True, metadata=_doc("Check the smart host's certificate and name.")
    )
    username: str = field(default="", metadata=_doc("AUTH user name; empty = no AUTH."))
    password_file: str = field(
        default="",
        metadata=_doc("File whose first line is the AUTH password (never put it in this file)."),
    )


@dataclass(frozen=True)
class QueueConfig:
    """When the queue retries, warns and gives up (RFC 5321 §4.5.4.1)."""

    retry_first: float = field(
        default=300.0,
        metadata=_doc("Seconds before the first retry of a deferred recipient.", min=0.1),
    )
    retry_factor: float = field(
        default=2.0, metadata=_doc("Each retry waits this many times longer than the last.", min=1)
    )
    retry_max: float = field(
        default=4 * 3600.0, metadata=_doc("Longest wait between two retries, in seconds.", min=0.1)
    )
    max_lifetime: float = field(
        default=5 * 86400.0,
        metadata=_doc("Seconds a message may stay queued before it bounces (4.4.7).", min=1),
    )
    delay_warning: float = field(
        default=4 * 3600.0,
        metadata=_doc("Seconds after which the sender gets one delay notice; 0 = never.", min=0),
    )
    poll_interval: float = field(
        default=15.0,
        metadata=_doc(
            "Seconds between scans of the spool for due retries and for changes made by "
            "`mailtool queue` (flush/retry/bounce also wake the server within a second).",
            min=0.1,
        ),
    )
    claim_lease: float = field(
        default=300.0,
        metadata=_doc(
            "PostgreSQL backend: seconds a node's claim on a queued message lasts unless "
            "renewed (it is, every third of this, while the node lives); a dead node's "
            "messages wait this long before another node tries them.",
            min=1,
        ),
    )


@dataclass(frozen=True)
class OutboundConfig:
    """How mail leaves for other domains."""

    port: int = field(
        default=25,
        metadata=_doc("Port of the MX hosts (always 25 on the Internet; for tests).", min=1),
    )
    require_tls: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Domains whose MX must offer STARTTLS; without it the message waits (not verified: "
            "the certificate is not checked, as with opportunistic TLS)."
        ),
    )
    helo: str = field(default="", metadata=_doc("Name said in EHLO; empty = `hostname`."))
    source_address: str = field(
        default="", metadata=_doc("Local address outbound connections come from; empty = any.")
    )
    connect_timeout: float = field(
        default=30.0, metadata=_doc("Seconds to wait for a connection and the greeting.", min=0.1)
    )
    timeout: float = field(
        default=300.0,
        metadata=_doc("Seconds to wait for any later reply (RFC 5321 §4.5.3.2).", min=0.1),
    )


@dataclass(frozen=True)
class DkimConfig:
    """DKIM signing of mail submitted by authenticated users (RFC 6376, RFC 8463). Keys live
    in ``DATA_DIR/dkim/DOMAIN/SELECTOR.key`` (``mailtool dkim keygen``); every key of the
    From domain signs, so an RSA and an Ed25519 key give two signatures."""

    sign: bool = field(
        default=True, metadata=_doc("Sign submitted mail when its From domain has a key.")
    )
    selector: str = field(
        default="mailtool",
        metadata=_doc(
            "Default selector of `mailtool dkim keygen` (Ed25519 keys get SELECTOR-ed25519)."
        ),
    )
    algorithms: tuple[str, ...] = field(
        default=("rsa", "ed25519"),
        metadata=_doc('Algorithms `mailtool dkim keygen` creates by default: "rsa", "ed25519".'),
    )


@dataclass(frozen=True)
class AuthConfig:
    """Checks of mail arriving on port 25 (SPF, DKIM, DMARC, ARC) and outbound TLS policy
    (MTA-STS, TLS-RPT). See docs/authentication.md."""

    check_inbound: bool = field(
        default=True,
        metadata=_doc("Check SPF, DKIM, DMARC and ARC and add Authentication-Results."),
    )
    dmarc_enforce: bool = field(
        default=True,
        metadata=_doc(
            "Refuse (550 5.7.1) mail failing DMARC p=reject and junk p=quarantine; false = "
            "only report the result."
        ),
    )
    dmarc_allow: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "From domains (or sending IPs) whose DMARC failures are accepted anyway, e.g. "
            "for a mailing list that rewrites messages."
        ),
    )
    mta_sts: bool = field(
        default=True,
        metadata=_doc("Fetch and obey recipients' MTA-STS policies on outbound delivery."),
    )
    mta_sts_port: int = field(
        default=443, metadata=_doc("HTTPS port MTA-STS policies are fetched from (tests).", min=1)
    )
    tlsrpt: bool = field(
        default=True,
        metadata=_doc("Record outbound TLS results and send daily TLS-RPT reports (RFC 8460)."),
    )


@dataclass(frozen=True)
class SieveConfig:
    """Sieve filtering at delivery and ManageSieve (RFC 5228, RFC 5804)."""

    max_script_size: int = field(
        default=64 * 1024, metadata=_doc("Largest Sieve script a user may store, in bytes.", min=64)
    )
    max_scripts: int = field(
        default=20, metadata=_doc("Scripts one user may keep through ManageSieve.", min=1)
    )
    max_redirects: int = field(
        default=4, metadata=_doc("redirect actions one script run may take.", min=0)
    )
    max_actions: int = field(default=64, metadata=_doc("Actions one script run may take.", min=1))


@dataclass(frozen=True)
class ScanConfig:
    """Virus and spam scanning before the 250 after DATA (clamd, spamd)."""

    clamd: str = field(
        default="",
        metadata=_doc('clamd as "HOST:PORT" or a unix socket path; empty = no virus scan.'),
    )
    spamd: str = field(
        default="", metadata=_doc('spamd as "HOST:PORT" (SPAMC/1.5); empty = no spam scan.')
    )
    timeout: float = field(
        default=30.0, metadata=_doc("Seconds to wait for each scanner.", min=0.1)
    )
    reject_threshold: float = field(
        default=15.0, metadata=_doc("Spam score at or above which DATA gets 550 5.7.1.")
    )
    junk_threshold: float = field(
        default=5.0,
        metadata=_doc("Spam score at or above which X-Spam-Flag: YES files the mail into Junk."),
    )
    on_failure: str = field(
        default="tempfail",
        metadata=_doc(
            'A scanner that is down: "tempfail" (451 4.7.1) or "accept-and-tag".',
            choices=("tempfail", "accept-and-tag"),
        ),
    )
    max_size: int = field(
        default=25 * 1024 * 1024,
        metadata=_doc("Messages larger than this are not sent to the scanners.", min=1024),
    )
    submission: bool = field(
        default=False,
        metadata=_doc("Scan mail sent by our own users on 587/465 too (port 25 always is)."),
    )


@dataclass(frozen=True)
class AccountConfig:
    """A mail account the client side (``mailtool tui``, ``mailtool send``) uses."""

    email: str = field(default="", metadata=_doc("Your address, used as From."))
    username: str = field(default="", metadata=_doc("Login name; empty = the email address."))
    imap: str = field(default="", metadata=_doc('IMAP server as "HOST:PORT".'))
    smtp: str = field(default="", metadata=_doc('SMTP submission server as "HOST:PORT".'))
    imap_tls: str = field(
        default="tls", metadata=_doc('"tls" (implicit), "starttls" or "none".', choices=TLS_MODES)
    )
    smtp_tls: str = field(
        default="tls", metadata=_doc('"tls" (implicit), "starttls" or "none".', choices=TLS_MODES)
    )
    verify_tls: bool = field(default=True, metadata=_doc("Check the server's certificate."))
    cafile: str = field(
        default="",
        metadata=_doc(
            "PEM file of extra CA certificates to trust for this account's servers "
            "(a private CA); empty = the system's."
        ),
    )
    password_command: str = field(
        default="", metadata=_doc("Shell command whose first output line is the password.")
    )
    name: str = field(default="", metadata=_doc("Display name for From."))
    pgp_key: str = field(
        default="",
        metadata=_doc(
            "The gpg key (id, fingerprint or address) that signs your mail and that mail you "
            "encrypt is also encrypted to; empty = gpg's default key and the From address."
        ),
    )


@dataclass(frozen=True)
class TuiConfig:
    """The terminal client, ``mailtool tui``."""

    keys: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            'Key remapping, one "ACTION=KEY" per entry, e.g. ["delete=x", "reply=ctrl+r"]; '
            "action ids are listed in docs/tui.md and in the command palette."
        ),
    )
    theme: str = field(
        default="",
        metadata=_doc('A Textual theme ("textual-dark", "nord", "gruvbox", ...); empty = default.'),
    )
    poll_interval: float = field(
        default=60.0,
        metadata=_doc(
            "Seconds between STATUS polls of the folders other than INBOX (our server offers "
            "no NOTIFY): another folder's unread count is at most this plus one round of "
            "STATUS commands old. INBOX is pushed by IDLE at once.",
            min=1,
        ),
    )
    idle_renew: float = field(
        default=29 * 60.0,
        metadata=_doc(
            "Seconds after which IDLE is ended and re-issued (RFC 2177: before the server's "
            "30-minute autologout); at most 1740. IDLE also ends for each STATUS poll.",
            min=1,
            max=29 * 60,
        ),
    )
    open_command: str = field(
        default="",
        metadata=_doc(
            "Command that opens an attachment, given the file's path as its last argument "
            "(split like a shell line, run detached); empty = xdg-open."
        ),
    )
    body_cache_mb: int = field(
        default=200,
        metadata=_doc(
            "Megabytes of opened message bodies kept on disk to read offline (files 0600 "
            "under $XDG_CACHE_HOME/mailtool/bodies; the least recently read go first); "
            "0 keeps none.",
            min=0,
        ),
    )
    sort: str = field(
        default="arrival",
        metadata=_doc("The message list's order when the TUI starts (o cycles it).",
                      choices=("arrival", "date", "from", "subject", "size")),
    )
    reverse: bool = field(
        default=False,
        metadata=_doc(
            "Reverse the list's order (oldest first for arrival and date); ctrl+o toggles."
        ),
    )
    columns: tuple[str, ...] = field(
        default=("flags", "date", "from", "subject", "size"),
        metadata=_doc(
            'Message list columns, in order, from "flags", "date", "from", "subject", "size" '
            '("from" shows the recipient in Sent and Drafts).',
            each_of=("flags", "date", "from", "subject", "size"),
        ),
    )
    address_book: str = field(
        default="",
        metadata=_doc('A vCard file whose FN/EMAIL complete addresses, e.g. "~/contacts.vcf".'),
    )
    address_command: str = field(
        default="",
        metadata=_doc(
            "A command listing contacts for a prefix, mutt's query_command format "
            '(EMAIL<TAB>NAME lines), %s = the prefix, e.g. "khard email --parsable %s".'
        ),
    )


@dataclass(frozen=True)
class Config:
    """The whole effective configuration."""

    data_dir: str = field(
        default_factory=lambda: str(default_data_dir()),
        metadata=_doc(
            "Where accounts, mail, the queue and generated keys live. "
            "Default $XDG_DATA_HOME/mailtool, or /var/lib/mailtool as root. "
            f"--data-dir and {ENV_DATA_DIR} override it."
        ),
    )
    hostname: str = field(
        default_factory=socket.gethostname,
        metadata=_doc("Our name in SMTP greetings, Received: headers and the certificate."),
    )
    server: ServerConfig = field(default_factory=ServerConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    tls: TLSConfig = field(default_factory=TLSConfig)
    mta_sts: MtaStsConfig = field(default_factory=MtaStsConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    dns: DNSConfig = field(default_factory=DNSConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    outbound: OutboundConfig = field(default_factory=OutboundConfig)
    dkim: DkimConfig = field(default_factory=DkimConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    sieve: SieveConfig = field(default_factory=SieveConfig)
    scan: ScanConfig = field(default_factory=ScanConfig)
    accounts: dict[str, AccountConfig] = field(
        default_factory=dict,
        metadata=_doc("Client accounts, one [accounts.NAME] table each.", table_of=AccountConfig),
    )
    tui: TuiConfig = field(default_factory=TuiConfig)

    #: the file this came from, for messages; not a key
    source: str | None = field(default=None, compare=False, metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


# --------------------------------------------------------------------------- parsing


def parse_hostport(
    value: str, *, key: str = "", default_port: int | None = None
) -> tuple[str, int]:
    """``"HOST:PORT"`` / ``"[v6]:PORT"`` -> (host, port). Port 0 means ephemeral."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        if default_port is None:
            raise ConfigError(f'given {value!r}, expected "HOST:PORT"', key=key)
        host, port_text = value, str(default_port)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f'given {value!r}, expected "HOST:PORT" with PORT 0-65535', key=key)
    return host, int(port_text)


def _type_name(tp: Any) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a number"}
    if typing.get_origin(tp) is tuple:
        return "a list of strings"
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return names.get(tp, str(tp))


def _coerce(value: Any, tp: Any, key: str, file: str | None) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key, file)
            except ConfigError:
                continue
        raise ConfigError(f"given {value!r}, expected {_type_name(tp)}", file=file, key=key)
    if origin is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"given {value!r}, expected a list of strings", file=file, key=key)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif tp is str:
        ok = isinstance(value, str)
    else:
        ok = False
    if not ok:
        raise ConfigError(f"given {value!r}, expected {_type_name(tp)}", file=file, key=key)
    return value


def _build(cls: type, data: dict[str, Any], prefix: str, file: str | None,
           errors: list[ConfigError]) -> Any:
    """``cls`` from ``data``; each bad key is added to ``errors`` and left at its default,
    so one run reports every mistake in the file, not the first."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        try:
            kwargs[name] = _build_key(name, value, known, hints, f"{prefix}{name}", file, errors)
        except ConfigError as exc:
            errors.append(exc)
    return cls(**kwargs)


def _build_key(name: str, value: Any, known: dict[str, Any], hints: dict[str, Any], key: str,
               file: str | None, errors: list[ConfigError]) -> Any:
    """One key of a table: its value, checked; raises ConfigError."""
    if name not in known:
        raise ConfigError(
            f"unknown key; expected one of: {', '.join(sorted(known))}", file=file, key=key
        )
    tp = hints[name]
    table_of = known[name].metadata.get("table_of")
    if table_of is not None:
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ConfigError(
                f"given {value!r}, expected [{key}.NAME] tables", file=file, key=key
            )
        return {
            sub: _build(table_of, table, f"{key}.{sub}.", file, errors)
            for sub, table in value.items()
        }
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"given {value!r}, expected a [{key}] table", file=file, key=key)
        return _build(tp, value, f"{key}.", file, errors)
    value = _coerce(value, tp, key, file)
    choices = known[name].metadata.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"given {value!r}, expected one of {', '.join(map(repr, choices))}",
            file=file,
            key=key,
        )
    each_of = known[name].metadata.get("each_of")
    if each_of is not None and (bad := [v for v in value if v not in each_of]):
        raise ConfigError(f"given {bad[0]!r}, expected each one of {', '.join(map(repr, each_of))}",
                          file=file, key=key)
    minimum = known[name].metadata.get("min")
    if minimum is not None and value < minimum:
        raise ConfigError(f"given {value!r}, expected at least {minimum}", file=file, key=key)
    maximum = known[name].metadata.get("max")
    if maximum is not None and value > maximum:
        raise ConfigError(f"given {value!r}, expected at most {maximum}", file=file, key=key)
    return value


def _validate(cfg: Config) -> None:
    file = cfg.source
    for name, value in dataclasses.asdict(cfg.listen).items():
        if value is True:
            raise ConfigError(
                'given true, expected "HOST:PORT" or false', file=file, key=f"listen.{name}"
            )
    try:
        cfg.listen.enabled()  # raises on malformed HOST:PORT
        for ns in cfg.dns.nameservers:
            parse_hostport(ns, key="dns.nameservers", default_port=53)
    except ConfigError as exc:
        raise ConfigError(str(exc), file=file) from None
    for cidr in cfg.listen.proxy_from:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(
                f'given {cidr!r}, expected an address or CIDR such as "10.0.0.0/8"',
                file=file, key="listen.proxy_from",
            ) from None
    if cfg.store.url and not cfg.store.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f'given {cfg.store.url!r}, expected "postgresql://USER@HOST:PORT/DBNAME" or empty',
            file=file,
            key="store.url",
        )
    if cfg.relay.password_file and not cfg.relay.username:
        raise ConfigError(
            "relay.password_file needs relay.username", file=file, key="relay.username"
        )
    if cfg.relay.username and cfg.relay.tls == "none":
        # DESIGN principle 3: a password never travels without TLS
        raise ConfigError(
            'given "none" with relay.username, expected "starttls" or "tls"',
            file=file,
            key="relay.tls",
        )
    for algorithm in cfg.dkim.algorithms:
        if algorithm not in ("rsa", "ed25519"):
            raise ConfigError(
                f'given {algorithm!r}, expected "rsa" or "ed25519"',
                file=file,
                key="dkim.algorithms",
            )
    if bool(cfg.tls.cert) != bool(cfg.tls.key):
        raise ConfigError("tls.cert and tls.key must be given together", file=file, key="tls")
    if cfg.tls.acme and cfg.tls.acme_challenge == "http-01" and cfg.listen.http is False:
        raise ConfigError(
            "tls.acme = true answers the CA's http-01 challenge (RFC 8555 §8.3) on [listen] "
            'http: name it, e.g. http = "0.0.0.0:80"',
            file=file,
            key="listen.http",
        )
    if cfg.tls.acme and cfg.tls.acme_challenge == "tls-alpn-01" and cfg.listen.https is False:
        raise ConfigError(
            "tls.acme_challenge = tls-alpn-01 (RFC 8737) is answered on [listen] https: "
            'name it, e.g. https = "0.0.0.0:443"',
            file=file,
            key="listen.https",
        )
    if cfg.tls.acme and cfg.tls.cert:
        raise ConfigError(
            "tls.acme = true manages the certificate: leave tls.cert and tls.key empty",
            file=file,
            key="tls.acme",
        )


def from_dict(data: dict[str, Any], *, source: str | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML, validating every key."""
    left_out = _listen_left_out(data.get("listen"))
    if left_out:
        data = {**data, "listen": {**data["listen"], **left_out}}
    errors: list[ConfigError] = []
    cfg = _build(Config, data, "", source, errors)
    if errors:
        raise ConfigErrors(errors)
    cfg = dataclasses.replace(cfg, source=source)
    _validate(cfg)
    return cfg


def load(path: str | os.PathLike[str] | None = None, *, data_dir: str | None = None) -> Config:
    """Load the config from ``path``, ``$MAILTOOL_CONFIG``, the first existing file of
    :func:`config_search_path`, or defaults only.

    ``data_dir`` (the global ``--data-dir``) and ``$MAILTOOL_DATA_DIR`` override
    the file; ``$MAILTOOL_NAMESERVERS`` overrides ``dns.nameservers``.
    """
    path = path or os.environ.get(ENV_CONFIG) or discover_config()
    data: dict[str, Any] = {}
    source = None
    if path:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("file not found", file=source) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=source) from None
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=source) from None
    override = data_dir or os.environ.get(ENV_DATA_DIR)
    if override:
        data["data_dir"] = override
    env_ns = os.environ.get(ENV_NAMESERVERS)
    if env_ns:
        data.setdefault("dns", {})
        data["dns"] = {
            **data["dns"],
            "nameservers": [s.strip() for s in env_ns.split(",") if s.strip()],
        }
    return from_dict(data, source=source)


# --------------------------------------------------------------------------- output


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _toml_table(name: str, value: Any) -> list[str]:
    lines = [f"\n[{name}]"]
    for sub in dataclasses.fields(value):
        lines.append(f"# {sub.metadata.get('doc', '')}")
        lines.append(f"{sub.name} = {_toml_value(getattr(value, sub.name))}")
    return lines


def to_toml(cfg: Config) -> str:
    """The effective config as TOML, every default filled in, with each key's doc as a comment."""
    top: list[str] = []
    tables: list[str] = []
    for f in dataclasses.fields(cfg):
        if f.metadata.get("internal"):
            continue
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            tables += _toml_table(f.name, value)
        elif f.metadata.get("table_of"):
            for sub_name, sub_value in value.items():
                tables += _toml_table(f"{f.name}.{sub_name}", sub_value)
        else:
            top.append(f"# {f.metadata.get('doc', '')}")
            top.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(top + tables) + "\n"


def reference_markdown() -> str:
    """The configuration reference page, generated from the dataclasses."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- generated by `mailtool config docs`; do not edit by hand -->",
        "",
        f"mailtool reads one TOML file: `--config PATH` or `${ENV_CONFIG}`; without either, the "
        "first that exists of `$XDG_CONFIG_HOME/mailtool/mailtool.toml` "
        f"(`~/.config/mailtool/mailtool.toml`) and `{SYSTEM_CONFIG}`. Every key is optional.",
        "`mailtool config show` prints the effective configuration; `mailtool config check` "
        "validates a file.",
        "",
        "## Top-level keys",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    hints = typing.get_type_hints(Config)
    sections: list[tuple[str, type]] = []
    for f in dataclasses.fields(Config):
        if f.metadata.get("internal"):
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            sections.append((f"[{f.name}]", hints[f.name]))
            continue
        if f.metadata.get("table_of"):
            sections.append((f"[{f.name}.NAME]", f.metadata["table_of"]))
            continue
        lines.append(
            f"| `{f.name}` | {_type_name(hints[f.name])} | see meaning | {f.metadata['doc']} |"
        )
    for name, cls in sections:
        # cleandoc: a docstring's later lines are indented (a code block in Markdown)
        lines += ["", f"## `{name}`", "", inspect.cleandoc(cls.__doc__ or ""), ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        sub_hints = typing.get_type_hints(cls)
        for sub in dataclasses.fields(cls):
            if sub.default is not dataclasses.MISSING:
                default = f"`{_toml_value(sub.default)}`"
            else:
                default = "see meaning"
            kind = _type_name(sub_hints[sub.name])
            lines.append(f"| `{sub.name}` | {kind} | {default} | {sub.metadata['doc']} |")
    return "\n".join(lines) + "\n"
