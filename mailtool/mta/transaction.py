"""The mail transaction: MAIL, RCPT, DATA (RFC 5321 §3.3), mixed into the session.

``250`` after DATA is sent only once the message is durable (DESIGN
principle 1): fsynced in every local recipient's mailbox, or, for remote
recipients and failed local deliveries, in the queue with its envelope
(:meth:`~mailtool.mta.queue_runner.QueueRunner.submit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailtool.errors import StoreUnavailable
from mailtool.mda.scanners.policy import ACCEPT, REJECT, add_headers
from mailtool.net.connection import Connection, ReadTimeout
from mailtool.net.log import log_event
from mailtool.protocol.smtp import (
    DataError,
    DataReader,
    MailFrom,
    Reply,
    SMTPProtocolError,
    codes,
    format_path,
    parse_mail_from,
    parse_rcpt_to,
)

from .header_from import check_header_from
from .received import (
    MAX_RECEIVED,
    add_submission_headers,
    count_received,
    protocol_keyword,
    received_header,
)
from .relay_policy import decide_recipient, over_quota, sender_allowed
from .spool import DataSpool

if TYPE_CHECKING:
    from .service import SessionEnv

#: MAIL parameters for the extensions we announce (no DSN, no BINARYMIME yet)
MAIL_PARAMS_INBOUND = frozenset({"SIZE", "BODY", "SMTPUTF8"})
MAIL_PARAMS_SUBMISSION = MAIL_PARAMS_INBOUND | {"AUTH"}  # RFC 4954 §5
READ_CHUNK = 64 * 1024


@dataclass
class Envelope:
    """What the queue keeps next to the message."""

    sender: str  #: "" for the null reverse-path
    local: dict[str, None] = field(default_factory=dict)  #: resolved mailboxes, ordered set
    remote: dict[str, None] = field(default_factory=dict)  #: addresses to relay to
    rcpts: list[str] = field(default_factory=list)  #: as the client gave them
    smtputf8: bool = False
    body: str | None = None
    user: str | None = None

    @property
    def recipients(self) -> list[str]:
        return [*self.local, *self.remote]


def _reply(code: int, text: str, enhanced: str) -> Reply:
    return Reply(code, (text,), enhanced)


AUTH_REQUIRED = _reply(codes.C530_AUTH_REQUIRED, "authentication required", "5.7.0")
NEED_MAIL = _reply(codes.C503_BAD_SEQUENCE, "need MAIL first", "5.5.1")
NEED_HELO = _reply(codes.C503_BAD_SEQUENCE, "send EHLO or HELO first", "5.5.1")


class TransactionCommands:
    """MAIL, RCPT, DATA for :class:`~mailtool.mta.session.SMTPSession`."""

    env: SessionEnv
    tx: Envelope | None
    mail: MailFrom | None
    user: str | None
    helo: str
    esmtp: bool
    peer_ip: str
    conn_id: str
    messages: int
    junk_commands: int
    tls_info: str | None
    hostname: str

    conn: Connection

    if TYPE_CHECKING:  # provided by the session

        @property
        def tls_active(self) -> bool: ...
        def reply(self, reply: Reply) -> None: ...
        async def flush(self) -> None: ...

    def reset_transaction(self) -> None:
        self.tx = None
        self.mail = None

    def _needs_auth(self) -> bool:
        return self.env.kind.submission and self.user is None

    async def cmd_mail(self, arg: str) -> None:
        if not self.helo:
            self.reply(NEED_HELO)
            return
        if self._needs_auth():
            self.reply(AUTH_REQUIRED)
            return
        if self.tx is not None:
            self.reply(_reply(codes.C503_BAD_SEQUENCE, "nested MAIL command", "5.5.1"))
            return
        allowed = MAIL_PARAMS_SUBMISSION if self.env.kind.submission else MAIL_PARAMS_INBOUND
        try:
            mail = parse_mail_from(arg, allowed=allowed if self.esmtp else ())
        except SMTPProtocolError as exc:
            self.reply(exc.reply)
            return
        if mail.body == "BINARYMIME":  # RFC 3030: only with CHUNKING, which we lack
            self.reply(_reply(codes.C501_PARAM_SYNTAX_ERROR, "BINARYMIME not supported", "5.5.4"))
            return
        limit = self.env.config.limits.max_message_size
        if mail.size is not None and mail.size > limit:
            # RFC 1870 §6.1: refuse a declared size over the limit at MAIL
            self.reply(
                _reply(
                    codes.C552_STORAGE_EXCEEDED,
                    f"message size exceeds the limit of {limit} octets",
                    codes.ES_MSG_TOO_BIG,
                )
            )
            return
        if self.env.kind.submission:
            assert self.user is not None
            if not sender_allowed(mail.sender, self.user, self.env.accounts()):
                # RFC 6409 §6.1: the sender must be the authenticated user's
                self.reply(
                    _reply(
                        codes.C553_MAILBOX_NAME_NOT_ALLOWED,
                        f"{format_path(mail.sender)} is not an address of {self.user}",
                        codes.ES_RELAY_DENIED,
                    )
                )
                return
        self.mail = mail
        self.tx = Envelope(
            sender="" if mail.sender is None else str(mail.sender),
            smtputf8=mail.smtputf8,
            body=mail.body,
            user=self.user,
        )
        self.reply(_reply(codes.C250_OK, "sender ok", codes.ES_SENDER_OK))

    async def cmd_rcpt(self, arg: str) -> None:
        if self._needs_auth():
            # RFC 4954 §6 / RFC 6409: submission needs AUTH
            self.reply(AUTH_REQUIRED)
            return
        if self.tx is None:
            self.reply(NEED_MAIL)
            return
        tx = self.tx
        if len(tx.rcpts) >= self.env.config.limits.max_recipients:
            # RFC 5321 §4.5.3.1.10: 452 and the client sends the rest later
            self.reply(_reply(codes.C452_INSUFFICIENT_STORAGE, "too many recipients",
                              codes.ES_TOO_MANY_RCPTS))
            return
        try:
            rcpt = parse_rcpt_to(arg, smtputf8=tx.smtputf8, allowed=())
        except SMTPProtocolError as exc:
            self.reply(exc.reply)
            return
        decision = decide_recipient(
            rcpt.recipient,
            authenticated=self.user is not None,
            accounts=self.env.accounts(),
            postmaster=self.env.postmaster,
        )
        if not decision.accepted:
            log_event(
                "smtp.rcpt", id=self.conn_id, peer=self.peer_ip, user=self.user,
                rcpt=str(rcpt.recipient)[:200], outcome=decision.reason,
            )
            self.reply(decision.reply)
            return
        if decision.mailboxes and self.env.mail is not None:
            size = self.mail.size if self.mail is not None and self.mail.size else 0
            full = over_quota(decision.mailboxes, self.env.accounts(), self.env.mail(), size)
            if full is not None:  # RFC 3463 X.2.2: the sender learns now, not from a bounce
                log_event("smtp.rcpt", id=self.conn_id, peer=self.peer_ip, user=self.user,
                          rcpt=str(rcpt.recipient)[:200], outcome="over quota")  # fmt: skip
                self.reply(full)
                return
        tx.rcpts.append(str(rcpt.recipient))
        for box in decision.mailboxes:
            tx.local[box] = None
        if decision.remote:
            tx.remote[decision.remote] = None
        self.reply(decision.reply)

    async def cmd_data(self, arg: str) -> None:
        if not self.helo:
            self.reply(NEED_HELO)
            return
        if self._needs_auth():
            self.reply(AUTH_REQUIRED)
            return
        if self.tx is None:
            self.reply(NEED_MAIL)
            return
        if not self.tx.rcpts:
            self.reply(_reply(codes.C554_TRANSACTION_FAILED, "no valid recipients", "5.5.1"))
            return
        if arg:
            self.reply(_reply(codes.C501_PARAM_SYNTAX_ERROR, "DATA takes no argument", "5.5.4"))
            return
        tx, self.tx = self.tx, None
        self.reply(Reply(codes.C354_START_DATA, ("end data with <CR><LF>.<CR><LF>",)))
        await self.flush()
        # DESIGN principle 6: past spool_threshold the content goes to a file, not memory
        with DataSpool(self.env.spool_dir, self.env.config.limits.spool_threshold) as spool:
            try:
                await self._read_data(spool)
            except DataError as exc:
                self._log_message(tx, 0, "refused", str(exc.reply.text))
                self.reply(exc.reply)
                return
            if not spool.spooled:
                message = spool.getvalue()
            else:
                # the queue, the MDA, DKIM and the scanners take the message as bytes: big
                # ones are loaded a few at a time, so their copies stay bounded too
                async with self.env.big_messages:
                    message = spool.getvalue()
                    spool.close()
                    await self._accept(tx, message)
                    return
        await self._accept(tx, message)

    async def _read_data(self, spool: DataSpool) -> None:
        """The content up to ``CRLF.CRLF``, un-stuffed, into ``spool``; DataError for
        bare CR/LF or size. Each read must come within ``smtp_idle_timeout`` and the
        whole transfer within twice that (RFC 5321 §4.5.3.2.6: ten minutes)."""
        reader = DataReader(max_size=self.env.config.limits.max_message_size)
        conn = self.conn
        idle = self.env.config.limits.smtp_idle_timeout
        try:
            async with asyncio.timeout(2 * idle):
                while not reader.done:
                    spool.write(reader.feed(await conn.read(READ_CHUNK, timeout=idle)))
        except TimeoutError:
            raise ReadTimeout from None
        # RFC 2920: commands pipelined after the dot go back to the command reader
        conn.push_back(reader.rest)
        reader.finish()

    async def _accept(self, tx: Envelope, message: bytes) -> None:
        hops = count_received(message)
        if hops > MAX_RECEIVED:
            # RFC 5321 §6.3: too many hops is a mail loop
            self._log_message(tx, len(message), "refused", "loop")
            self.reply(_reply(codes.C554_TRANSACTION_FAILED,
                              f"mail loop: {hops} Received headers", codes.ES_LOOP))
            return
        if self.env.kind.submission:
            assert self.user is not None
            # issue 15: readers see the header From, not MAIL FROM; it must be the user's too
            message, refusal = check_header_from(
                message, self.user, self.env.accounts().addresses_of(self.user),
                self.env.config.security.submission_from_check,
            )  # fmt: skip
            if refusal is not None:
                self._log_message(tx, len(message), "refused", "header from")
                self.reply(refusal)
                return
            message = add_submission_headers(message, self.hostname)
        elif self.env.inbound is not None:
            verdict = await self.env.inbound.check(
                message, peer_ip=self.peer_ip, helo=self.helo, mail_from=tx.sender
            )
            if verdict is not None:
                if verdict.reject is not None:  # DMARC p=reject (RFC 7489 §6.6.3)
                    self._log_message(tx, len(message), "refused", "dmarc")
                    self.reply(verdict.reject)
                    return
                message = verdict.apply(message)
        if self.env.scanner is not None:  # issue 8: pre-queue, so a refusal is the sender's
            scan = await self.env.scanner.scan(message)
            if scan.action != ACCEPT:
                outcome = "refused" if scan.action == REJECT else "deferred"
                self._log_message(tx, len(message), outcome, f"scan: {scan.text}")
                self.reply(_reply(scan.code, scan.text, scan.enhanced))
                return
            message = add_headers(message, scan.headers)
        if self.env.kind.submission and self.env.signer is not None:
            message = await self.env.signer.sign(message, tx.sender)
        trace_id = self.env.new_queue_id()
        trace = received_header(
            helo=self.helo,
            peer_ip=self.peer_ip,
            by=self.hostname,
            with_=protocol_keyword(
                esmtp=self.esmtp, tls=self.tls_active, authenticated=self.user is not None,
                smtputf8=tx.smtputf8,
            ),
            queue_id=trace_id,
            recipient=tx.rcpts[0] if len(tx.rcpts) == 1 else None,
            tls=self.tls_info if self.tls_active else None,
        )
        started = time.monotonic()
        try:
            queue_id = await self.env.intake.submit(
                trace_id, tx, trace + message, peer=self.peer_ip, helo=self.helo[:200],
                user=self.user, tls=self.tls_info if self.tls_active else None,
                received=time.time(),
            )
        except Exception as exc:  # disk full, store trouble: the client retries
            if isinstance(exc, StoreUnavailable):  # the database is away: no traceback
                log_event("queue.write_failed", id=trace_id, error=str(exc),
                          level=logging.WARNING)  # fmt: skip
            else:
                logging.getLogger("mailtool").exception("queue.write_failed id=%s", trace_id)
            self._log_message(tx, len(message), "deferred", type(exc).__name__, trace_id)
            self.reply(_reply(codes.C451_LOCAL_ERROR, "could not queue the message; try later",
                              codes.ES_SYSTEM_TEMP))
            return
        self.messages += 1
        self.junk_commands = 0
        outcome = "delivered" if queue_id == trace_id else "queued"
        self._log_message(tx, len(message), outcome, None, queue_id, trace=trace_id,
                          ms=f"{(time.monotonic() - started) * 1000:.1f}")
        self.reply(_reply(codes.C250_OK, f"queued as {queue_id}", codes.ES_MESSAGE_ACCEPTED))

    def _log_message(
        self, tx: Envelope, size: int, outcome: str, why: str | None,
        queue_id: str | None = None, **extra: object,
    ) -> None:
        log_event(
            "smtp.message", id=self.conn_id, queue=queue_id, peer=self.peer_ip, user=self.user,
            sender=tx.sender or "<>", rcpts=len(tx.rcpts), size=size, outcome=outcome,
            reason=why, **extra,
        )
