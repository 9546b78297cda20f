"""Filtering at final delivery: the global Sieve script, then the user's, then built-in rules.

:func:`run_filters` is pure (no store access): scripts + envelope + message in,
a :class:`Decision` out. :func:`filter_for_user` reads the scripts and the
user's settings from :class:`~mailtool.store.sieve_scripts.SieveScripts`, and
:func:`file_message` writes a decision's deliveries into the user's folders.

Nothing is ever lost to a script: a script that does not parse is skipped, one
that fails at run time has its actions undone (RFC 5228 §2.10.6), and either
way the implicit keep files the message into INBOX; the error is logged and
kept in :attr:`Decision.errors`.

Built-in rules:

* the *junk* rule is the default global script (:data:`DEFAULT_GLOBAL_SCRIPT`):
  ``X-Spam-Flag: YES`` (added by :mod:`mailtool.mda.scanners` above the junk
  threshold) files into Junk. Installing a global script replaces it.
* the per-user *promotions* rule (off by default): bulk mail (``List-Id``,
  ``List-Unsubscribe``, ``Precedence: bulk``/``list``) that would otherwise land
  in INBOX through the implicit keep goes to Promotions, created on demand.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mailtool.errors import NotFound, PermanentFailure, QuotaExceeded, StoreError
from mailtool.mda.sieve import (
    Action,
    Discard,
    Envelope,
    FileInto,
    Interpreter,
    Keep,
    Limits,
    Redirect,
    Reject,
    Script,
    SieveError,
    Vacation,
    parse,
)
from mailtool.mda.sieve.ext_duplicate import DUPLICATE_LOG
from mailtool.mda.sieve.ext_editheader import field_name, split_header
from mailtool.mda.sieve.ext_enotify import NOTIFY_LOG
from mailtool.mda.sieve.ext_environment import ENVIRONMENT, delivery_items
from mailtool.mda.sieve.ext_include import INCLUDES, store_loader
from mailtool.mda.sieve.ext_mailbox import MAILBOX_EXISTS
from mailtool.mda.sieve.ext_specialuse import SPECIAL_USE_MAP
from mailtool.mda.sieve.message import MessageView
from mailtool.net.log import log_event
from mailtool.store.interfaces import SPECIAL_USE

log = logging.getLogger("mailtool")

INBOX = "INBOX"
PROMOTIONS = "Promotions"
JUNK = "Junk"
#: settings key of the promotions rule in SieveScripts.settings()
PROMOTIONS_SETTING = "promotions"

DEFAULT_GLOBAL_SCRIPT = """\
# mailtool's default global script: the scanner marks spam above the junk threshold,
# the DMARC check marks mail whose domain asks for quarantine (p=quarantine)
require ["fileinto"];
if anyof (header :is "X-Spam-Flag" "YES", header :is "X-Mailtool-Junk" "yes") {
    fileinto "Junk";
    stop;
}
"""
#: header names the default global script tests: a message with neither skips Sieve
_DEFAULT_RULE_HEADERS = (b"\nx-spam-flag:", b"\nx-mailtool-junk:")


@dataclass(frozen=True)
class Delivery:
    folder: str
    flags: frozenset[str] = frozenset()
    #: the message as editheader (RFC 5293) left it for this copy; None: as received
    message: bytes | None = field(default=None, compare=False, repr=False)
    #: RFC 8579: the folder with this attribute, if any, instead of ``folder``
    special_use: str | None = None


@dataclass
class Decision:
    """What to do with one message for one recipient."""

    deliveries: list[Delivery] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    vacations: list[Vacation] = field(default_factory=list)
    #: redirect target -> the message as editheader (RFC 5293) left it for that redirect
    redirect_messages: dict[str, bytes] = field(default_factory=dict)
    reject: Reject | None = None
    errors: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    @property
    def discarded(self) -> bool:
        return not self.deliveries and not self.redirects and self.reject is None


def is_bulk_mail(message: MessageView) -> bool:
    """The promotions rule's test: list or bulk headers (RFC 2369, RFC 2919, RFC 3834 §2)."""
    if message.has_header("List-Unsubscribe") or message.has_header("List-Id"):
        return True
    precedence = " ".join(message.headers("Precedence")).strip().lower()
    return precedence in ("bulk", "list")


def run_filters(
    user_script: str | None,
    global_script: str | None,
    envelope: Envelope,
    message: bytes,
    *,
    promotions: bool = False,
    user_addresses: Iterable[str] = (),
    vacation_memory: Any = None,
    limits: Limits | None = None,
    now: float | None = None,
    services: dict[str, Any] | None = None,
) -> Decision:
    """Run ``global_script`` then ``user_script`` (either may be None) and the built-ins.

    ``services``: the store lookups and per-user state extensions use (see
    :func:`sieve_services`)."""
    errors: list[str] = []
    interp = Interpreter(
        envelope, message, limits=limits, user_addresses=user_addresses,
        vacation_memory=vacation_memory, now=now, services=services,
    )  # fmt: skip
    for label, source in (("global", global_script), ("user", user_script)):
        if not source:
            continue
        try:
            interp.execute(_parsed(source, limits or Limits(), label))
        except SieveError as exc:
            errors.append(f"{label} script: {exc}")
        except Exception as exc:  # a bug must not lose mail either
            log.exception("sieve.crash script=%s", label)
            errors.append(f"{label} script: internal error {type(exc).__name__}")
            interp.actions, interp.implicit_keep = [], True
    try:
        actions = interp.finish()
    except Exception as exc:
        log.exception("sieve.finish_failed")
        errors.append(f"internal error {type(exc).__name__}")
        actions = [Keep(implicit=True)]
    if promotions and is_bulk_mail(interp.message):
        actions = [
            FileInto(PROMOTIONS, a.flags, message=a.message)
            if isinstance(a, Keep) and a.implicit
            else a
            for a in actions
        ]
    for error in errors:
        log_event("sieve.error", recipient=envelope.recipient, error=error,
                  level=logging.WARNING)  # fmt: skip
    return _decision(actions, errors)


@functools.lru_cache(maxsize=256)
def _parsed(source: str, limits: Limits, label: str) -> Script:
    """Parsed scripts are immutable: the same text is parsed once per process."""
    return parse(source, limits=limits, name=label)


def _decision(actions: list[Action], errors: list[str]) -> Decision:
    decision = Decision(errors=errors, actions=actions)
    for action in actions:
        if isinstance(action, Keep | FileInto):
            special_use = action.special_use if isinstance(action, FileInto) else None
            decision.deliveries.append(
                Delivery(action.folder, action.flags, action.message, special_use)
            )
        elif isinstance(action, Redirect):
            decision.redirects.append(action.address)
            if action.message is not None:
                decision.redirect_messages[action.address] = action.message
        elif isinstance(action, Vacation):
            decision.vacations.append(action)
        elif isinstance(action, Reject):
            decision.reject = action
        else:
            assert isinstance(action, Discard)
    return decision


def _default_rule_applies(message: bytes) -> bool:
    """Could the default global script do anything here? (a header it tests is present)"""
    end = message.find(b"\r\n\r\n")
    head = b"\n" + (message if end < 0 else message[:end]).lower()
    return any(name in head for name in _DEFAULT_RULE_HEADERS)


def limits_from_config(sieve_config: Any) -> Limits:
    """The interpreter's bounds from the ``[sieve]`` config section."""
    return Limits(
        max_script_bytes=sieve_config.max_script_size,
        max_redirects=sieve_config.max_redirects,
        max_actions=sieve_config.max_actions,
    )


def filter_for_user(
    scripts: Any,
    user: str,
    envelope: Envelope,
    message: bytes,
    *,
    user_addresses: Iterable[str] = (),
    limits: Limits | None = None,
    now: float | None = None,
    services: dict[str, Any] | None = None,
) -> Decision:
    """:func:`run_filters` with the scripts and settings of ``user`` from a SieveScripts.

    The common case costs two failed stats and a header scan: no global script,
    no Sieve directory for the user, and a message without the headers the
    default global script tests -> INBOX without running the interpreter.
    Scripts that exist are read again only when they change (SieveScripts).
    """
    global_script = scripts.global_script()
    services = dict(services or {})
    services = {**context_services(scripts, user, envelope.recipient, message), **services}
    try:
        user_script, settings = scripts.user_filters(user)
        memory = scripts.vacation_memory(user)
        if user_script is not None:
            services.update(state_services(scripts, user))
    except StoreError:  # an address the script store cannot name (UTF-8 local part)
        user_script, settings, memory = None, {}, None
    promotions = bool(settings.get(PROMOTIONS_SETTING))
    if global_script is None:
        if user_script is None and not promotions and not _default_rule_applies(message):
            return Decision(deliveries=[Delivery(INBOX)], actions=[Keep(implicit=True)])
        global_script = DEFAULT_GLOBAL_SCRIPT
    return run_filters(
        user_script,
        global_script,
        envelope,
        message,
        promotions=promotions,
        user_addresses=[user, *user_addresses],
        vacation_memory=memory,
        limits=limits,
        now=now,
        services=services,
    )


def state_services(scripts: Any, user: str) -> dict[str, Any]:
    """The user's Sieve state (store/sieve_state.py; pg/sieve_state.py) as interpreter services."""
    return {DUPLICATE_LOG: scripts.duplicate_log(user), NOTIFY_LOG: scripts.notify_log(user)}


def context_services(scripts: Any, user: str, recipient: str, message: bytes) -> dict[str, Any]:
    """RFC 6609 include (``:personal``: the user's ManageSieve scripts, ``:global``:
    the store's global scope, ``<data_dir>/sieve/global/<name>.sieve`` on SQLite) and
    RFC 5183 environment items."""

    def personal(name: str) -> str | None:
        try:
            return str(scripts.get(user, name))
        except StoreError:  # NotFound, or a name or user the store cannot hold
            return None

    return {INCLUDES: store_loader(personal, scripts.global_include),
            ENVIRONMENT: delivery_items(message, recipient)}  # fmt: skip


def mailbox_services(user_mail: Callable[[], Any]) -> dict[str, Any]:
    """Lookups into the user's folders (RFC 5490 mailboxexists, RFC 8579 special-use),
    made only when a script asks: ``user_mail`` returns the UserMail."""

    def exists(name: str) -> bool:
        try:
            user_mail().folder(name)
        except (NotFound, StoreError):
            return False
        return True

    return {MAILBOX_EXISTS: exists, SPECIAL_USE_MAP: lambda: special_use_map(user_mail())}


def special_use_map(mail: Any) -> dict[str, str]:
    """RFC 6154 attribute (lower case) -> the user's folder that has it (the first one)."""
    recorded = mail.index.special_uses()
    out: dict[str, str] = {}
    for name in mail.folders():
        uses = recorded.get(name) or ((SPECIAL_USE[name],) if name in SPECIAL_USE else ())
        for use in uses:
            out.setdefault(use.lower(), name)
    return out


def file_message(mail: Any, decision: Decision, message: bytes) -> list[tuple[str, int]]:
    """Write the decision's deliveries into ``mail`` (a UserMail); returns (folder, uid).

    Folders a script names are created on demand; a folder that cannot be
    used (bad name) falls back to INBOX. The quota is checked once for all
    copies first, so a full mailbox raises QuotaExceeded before any write
    (the queue retries; nothing is doubled).
    """
    deliveries = decision.deliveries
    if not deliveries:
        return []
    if len(deliveries) > 1:  # one copy: the store's own check is enough
        mail.check_quota(len(deliveries), len(message) * len(deliveries))
    done: list[tuple[str, int]] = []
    uses: dict[str, str] | None = None
    for delivery in deliveries:
        data = delivery.message or message
        folder = delivery.folder
        if delivery.special_use:
            # RFC 8579 §4: the folder with the attribute wins over the name given
            uses = special_use_map(mail) if uses is None else uses
            folder = uses.get(delivery.special_use.lower(), folder)
        try:
            uid = _deliver(mail, data, folder, delivery.flags)
            done.append((folder, uid))
        except QuotaExceeded:
            raise
        except StoreError as exc:
            if delivery.folder == INBOX or any(f == INBOX for f, _ in done):
                raise
            log_event("sieve.fileinto_failed", folder=delivery.folder, error=str(exc),
                      level=logging.WARNING)  # fmt: skip
            done.append((INBOX, _deliver(mail, data, INBOX, delivery.flags)))
    return done


def _deliver(mail: Any, message: bytes, folder: str, flags: frozenset[str]) -> int:
    extra = {"flags": flags} if flags else {}  # the plain MDA call when there are none
    try:
        return int(mail.deliver(message, folder, **extra))
    except NotFound:
        mail.create_folder(folder)
        return int(mail.deliver(message, folder, **extra))


@dataclass(frozen=True)
class Filed:
    """What :func:`deliver_filtered` did, and what the caller still has to queue."""

    placed: list[tuple[str, int]]  # (folder, uid), durable
    redirects: list[str]  # queue a copy to each, envelope sender unchanged
    vacations: list[Vacation]  # queue each: MAIL FROM <>, RCPT TO its recipient
    errors: list[str]
    #: target -> what to send instead of the queued message (edited by editheader)
    redirect_messages: dict[str, bytes] = field(default_factory=dict)


def deliver_filtered(
    mail: Any,
    scripts: Any,
    message: bytes,
    *,
    sender: str,
    recipient: str,
    original_recipient: str | None = None,
    limits: Limits | None = None,
) -> Filed:
    """The MDA's filtered delivery: Sieve, then the writes.

    ``mail`` is a MailStore, ``scripts`` a SieveScripts; ``message`` already has
    the delivery trace headers. ``original_recipient`` (before alias
    resolution, with any +detail) is what the ``envelope "to"`` test sees.
    A Sieve reject raises PermanentFailure (550 5.7.1 with the script's reason)
    so the queue bounces it (RFC 5429 §2.1); store errors propagate as the
    plain ``deliver`` lets them.
    """
    envelope = Envelope(sender, original_recipient or recipient)
    user_mail = functools.cache(lambda: mail.user(recipient))
    decision = filter_for_user(scripts, recipient, envelope, message, limits=limits,
                               services=mailbox_services(user_mail))  # fmt: skip
    if decision.reject is not None:
        reason = " ".join(decision.reject.reason.split())[:400] or "rejected by the recipient"
        raise PermanentFailure(reason, code=550, enhanced="5.7.1")
    placed = file_message(user_mail(), decision, message)
    file_copies(user_mail(), decision.vacations)
    redirects = [r for r in decision.redirects if not _delivered_to(message, r)]
    for target in set(decision.redirects) - set(redirects):
        # it has been delivered there already: redirecting again would loop
        log_event("sieve.redirect_loop", recipient=recipient, target=target,
                  level=logging.WARNING)  # fmt: skip
    edited = {t: _forwardable(decision.redirect_messages[t]) for t in redirects
              if t in decision.redirect_messages}  # fmt: skip
    return Filed(placed, redirects, decision.vacations, decision.errors, edited)


def _forwardable(message: bytes) -> bytes:
    """An edited message to redirect: our Return-Path goes (the queue gives the envelope),
    our Delivered-To stays (it marks the hop, as redirect_copy does)."""
    fields, rest, _eol = split_header(message)
    paths = [i for i, f in enumerate(fields) if field_name(f) == "return-path"]
    if paths:
        del fields[paths[0]]
    return b"".join(fields) + rest


def file_copies(mail: Any, sent: list[Vacation]) -> None:
    """RFC 8580: a copy of each reply / notification with ``:fcc`` into its folder.

    A copy is a courtesy: a folder that does not exist without ``:create``
    (§3.1), a full mailbox or a bad name means no copy, logged; the reply still goes.
    """
    for item in sent:
        fcc = item.fcc
        if fcc is None:
            continue
        folder = fcc.folder
        if fcc.special_use:
            folder = special_use_map(mail).get(fcc.special_use.lower(), folder)
        try:
            if not fcc.create:
                mail.folder(folder)  # NotFound: no copy
            _deliver(mail, item.message, folder, fcc.flags)
        except StoreError as exc:
            log_event("sieve.fcc_failed", folder=folder, error=str(exc), level=logging.WARNING)


def _delivered_to(message: bytes, address: str) -> bool:
    """Does the header carry ``Delivered-To: address`` (a redirect loop, Postfix's test)?"""
    end = message.find(b"\r\n\r\n")
    wanted = address.strip().lower()
    for line in (message if end < 0 else message[:end]).split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep or name.strip().lower() != b"delivered-to":
            continue
        if value.decode("utf-8", "replace").strip().strip("<>").lower() == wanted:
            return True
    return False
