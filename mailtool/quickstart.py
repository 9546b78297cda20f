"""``mailtool quickstart ADDRESS``: from nothing to a server ready to receive mail.

Every step is idempotent and never overwrites: a config, data dir, domain, user, DKIM
key or alias that exists is kept and reported as kept, so quickstart can be re-run
after an interruption or to see the DNS records again. The steps:

1. the config file: ``/etc/mailtool/mailtool.toml`` as root, else
   ``$XDG_CONFIG_HOME/mailtool/mailtool.toml`` (the first places every command looks,
   :func:`mailtool.config.config_search_path`), commented, with the standard ports,
   ``[listen] https`` and, as root, ``[listen] http`` and ``[tls] acme``;
2. the data dir (0700), the service user (root only, :mod:`mailtool.privsep`);
3. the domain, the first user (password given, or generated and shown once),
   ``postmaster@DOMAIN`` as an alias of that user (RFC 5321 §4.5.1), the DKIM keys;
4. the DNS records to publish (``mailtool dns records``' code) and the next steps.

The CLI (:mod:`mailtool.cli.quickstart`) prompts and renders; this module does the work.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mailtool import config as config_mod
from mailtool.errors import ConfigError

#: a generated password: 20 characters from a 57-letter alphabet (~116 bits)
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 20


def generate_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def config_target(*, root: bool) -> Path:
    """Where quickstart writes the config: the system file as root, the user's otherwise."""
    return config_mod.system_config_path() if root else config_mod.user_config_path()


@dataclass
class Plan:
    """What quickstart is about to do (shown before asking to go on)."""

    address: str
    hostname: str
    config_path: Path
    data_dir: Path
    root: bool
    acme: bool
    acme_email: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def make_plan(
    address: str,
    *,
    hostname: str | None = None,
    data_dir: str | None = None,
    root: bool | None = None,
    acme: bool | None = None,
) -> Plan:
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise ConfigError(f"given {address!r}, expected an address like you@example.com")
    if root is None:
        from mailtool.privsep import is_root

        root = is_root()
    target = config_target(root=root)
    default_dir = Path("/var/lib/mailtool") if root else config_mod.default_data_dir()
    return Plan(
        address=address,
        hostname=(hostname or f"mail.{domain}").strip().rstrip(".").lower(),
        config_path=target,
        data_dir=Path(data_dir) if data_dir else default_dir,
        root=root,
        acme=root if acme is None else acme,
        acme_email=address,
    )


def _listen_lines(root: bool) -> list[str]:
    lines = []
    for service, (standard, twin) in config_mod.SERVICE_PORTS.items():
        value = f"0.0.0.0:{standard}" if root else f"127.0.0.1:{twin}"
        lines.append(f'{service} = "{value}"')
    https, http = ("0.0.0.0:443", "0.0.0.0:80") if root else ("127.0.0.1:2443", "127.0.0.1:2080")
    lines.append("# MTA-STS policy, autoconfig, autodiscover (mailtool.web)")
    lines.append(f'https = "{https}"')
    lines.append("# ACME http-01 answers (the CA connects to port 80) and autoconfig over http")
    lines.append(f'http = "{http}"')
    return lines


def render_config(plan: Plan) -> str:
    """The commented config quickstart writes (only what differs from the defaults, or
    matters to read; `mailtool config docs` documents every key)."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    acme_note = (
        "# Certificates from Let's Encrypt (RFC 8555), renewed 30 days before expiry. The CA\n"
        "# must reach this host on port 80 under every name (hostname, mta-sts.DOMAIN,\n"
        "# autoconfig.DOMAIN): publish the DNS records first. Until then a self-signed\n"
        "# certificate is served and the log says acme.failed with the reason.\n"
    )
    if not plan.acme:
        acme_note += (
            "# Off: not run as root, the CA cannot reach port 80 here. Set acme = true when\n"
            "# port 80 of the public address reaches [listen] http.\n"
        )
    return "\n".join(
        [
            f"# mailtool configuration, written by `mailtool quickstart {plan.address}` on {when}.",
            "# Every key is optional: `mailtool config docs` lists them all, `mailtool config",
            "# show` prints the effective values, `mailtool config check` validates this file.",
            "",
            "# our name in SMTP greetings and in the certificate; the MX record points here",
            f'hostname = "{plan.hostname}"',
            "# accounts, mail, queue, keys and certificates",
            f'data_dir = "{plan.data_dir}"',
            "",
            "[server]",
            "# serve binds its ports as root, then runs as this user (created if missing)",
            'user = "mailtool"',
            "",
            "[listen]",
            "# HOST:PORT, or false to switch a listener off",
            *_listen_lines(plan.root),
            "",
            "[tls]",
            acme_note.rstrip("\n"),
            f"acme = {'true' if plan.acme else 'false'}",
            f'acme_email = "{plan.acme_email}"',
            "",
            "[mta_sts]",
            '# start with "testing"; "enforce" once TLS reports (_smtp._tls) are clean',
            'mode = "testing"',
            "",
        ]
    )


@dataclass
class Outcome:
    """What each step did: (what, "created" | "kept" | ..., detail)."""

    steps: list[tuple[str, str, str]] = field(default_factory=list)
    #: the generated password, shown once; None when given or the user existed
    generated_password: str | None = None
    config: config_mod.Config | None = None

    def add(self, what: str, state: str, detail: str = "") -> None:
        self.steps.append((what, state, detail))


def write_config(plan: Plan, outcome: Outcome) -> None:
    path = plan.config_path
    if path.exists():
        outcome.add("config", "kept", str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755 if plan.root else 0o700)
    # no secret in it; as root it must be readable by the service user, which the
    # systemd unit (contrib/mailtool.service) starts serve as
    mode = 0o644 if plan.root else 0o600
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(render_config(plan))
    os.chmod(path, mode)  # whatever the umask (main() sets 077)
    outcome.add("config", "created", str(path))


def run(
    plan: Plan,
    *,
    password: str | None,
    data_dir_override: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Outcome:
    """Do every step of the plan (see the module docstring); safe to run again."""
    from mailtool import privsep
    from mailtool.mta.authn import keys
    from mailtool.store.backends import Stores

    outcome = Outcome()
    write_config(plan, outcome)
    cfg = config_mod.load(plan.config_path, data_dir=data_dir_override)
    outcome.config = cfg
    data = cfg.data_path
    existed = data.exists()
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    outcome.add("data dir", "kept" if existed else "created", str(data))
    if plan.root and privsep.wants_drop(cfg.server.user):
        progress(f"service user {cfg.server.user}")
        user = privsep.service_user(cfg.server.user, create=True)
        outcome.add("service user", "ready", f"{user.name} (uid {user.uid})")
    stores = Stores(cfg, application_name="mailtool-quickstart")
    stores.check()  # PostgreSQL: a schema `mailtool store init` made
    store = stores.accounts
    try:
        if store.is_local_domain(plan.domain):
            outcome.add("domain", "kept", plan.domain)
        else:
            store.add_domain(plan.domain)
            outcome.add("domain", "created", plan.domain)
        if any(u.address == plan.address for u in store.users(plan.domain)):
            outcome.add("user", "kept", f"{plan.address} (password unchanged)")
        else:
            progress(f"user {plan.address}")
            if password is None:
                password = outcome.generated_password = generate_password()
            store.add_user(plan.address, password)
            outcome.add("user", "created", plan.address)
        postmaster = f"postmaster@{plan.domain}"
        if store.resolve(postmaster):  # [] = local domain, nobody there
            outcome.add("postmaster", "kept", postmaster)
        else:
            store.add_alias(postmaster, [plan.address])
            outcome.add("postmaster", "created", f"{postmaster} -> {plan.address}")
    finally:
        stores.close()
    existing = keys.load_keys(data, plan.domain)
    if existing:
        outcome.add("DKIM keys", "kept", ", ".join(k.selector for k in existing))
    else:
        progress("DKIM keys")
        made = []
        for algorithm in cfg.dkim.algorithms:
            selector = cfg.dkim.selector + ("-ed25519" if algorithm == "ed25519" else "")
            made.append(keys.generate(data, plan.domain, selector, algorithm))  # type: ignore[arg-type]
        outcome.add("DKIM keys", "created", ", ".join(k.selector for k in made))
    if plan.root:
        user = privsep.service_user(cfg.server.user, create=False) if privsep.wants_drop(
            cfg.server.user) else None  # fmt: skip
        privsep.hand_over_data_dir(data, user)  # serve would do it too: say it now
    return outcome


def next_steps(plan: Plan, cfg: config_mod.Config) -> list[str]:
    """What is left to do by hand, in order."""
    return [
        "Publish the DNS records above at your DNS provider (with this server's public "
        "address: re-run with --ipv4/--ipv6 to have it filled in).",
        f"Set the PTR (reverse DNS) of that address to {cfg.hostname} at your hosting provider.",
        "Open the ports 25, 465, 587, 993, 143, 995, 110, 4190, 443 and 80 (ACME http-01).",
        "Start the server: mailtool serve"
        + ("   (or the systemd unit: docs/install.md)" if plan.root else ""),
        f"Once the records are published: mailtool quickstart --check {plan.address}",
    ]
