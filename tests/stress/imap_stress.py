"""A multi-client IMAP stress run with state tracking (issue 16 point 18).

N clients share a few mailboxes of one account and do random APPEND / STORE / COPY /
MOVE / EXPUNGE / FETCH / SEARCH / IDLE / NOOP, logging out and in again now and then.
Each client is a raw asyncio socket that sees every untagged line, and keeps its
model of the selected mailbox from them alone: the sequence-number -> UID map (UIDs
learnt from FETCH), flags and MODSEQ per UID, the UIDs it was told were expunged.
What it later FETCHes and SEARCHes is checked against that model:

- every ``* N FETCH`` / ``* N EXPUNGE`` names a message the session was told about:
  1 <= N <= the count its EXISTS/EXPUNGEs gave (RFC 3501 §5.2, §7.4.1; issue class 12);
- EXISTS never shrinks (only EXPUNGE removes, RFC 3501 §7.3.1);
- no EXPUNGE while a FETCH, STORE or SEARCH by sequence number runs (RFC 3501 §7.4.1);
- a sequence number keeps its UID, UIDs ascend with sequence numbers (RFC 3501 §2.3.1.1);
- an expunged UID never comes back: not in this session, and not in a later SELECT by
  any session (nor in SEARCH results);
- MODSEQ of a message only grows, and equal MODSEQs mean equal flags (RFC 7162 §3);
  HIGHESTMODSEQ and UIDVALIDITY of a mailbox agree across SELECTs;
- an APPENDUID is above every UID of that mailbox seen before the APPEND was sent;
- a full ``FETCH 1:*`` after NOOP answers every message of the model, in order;
- every command is answered OK (FETCH of a message another session expunged included:
  mailtool's choice for issue class 13, docs/rfc-status.md, and Dovecot's), except that
  COPY/MOVE may fail whole with NO [EXPUNGEISSUED] (RFC 2180 §4.4.1, Dovecot does).

The randomness is seeded (printed); each client's choices come from its own
``Random(seed, client)``, so a run's operations are reproducible (their interleaving
depends on timing). ``python -m tests.stress.imap_stress --port N ...`` runs it against
any server; tests/stress/test_imap_stress.py runs it against mailtool and Dovecot,
bench/bench_imap_stress.py times it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

#: the mailboxes the clients share (created by :func:`prepare`)
MAILBOXES = ("Stress1", "Stress2", "Stress3")
FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "$Work", "$Later")
#: seconds one command may take before the run counts an error and drops the session
#: (generous: on 2 loaded cores a LOGIN's argon2id check waits behind the others)
COMMAND_TIMEOUT = 60.0
#: a session does this many operations (uniformly) before LOGOUT and a new login
SESSION_OPS = (5, 40)
#: a client about to APPEND to a mailbox holding more deletes its first TRIM_COUNT
TRIM_ABOVE, TRIM_COUNT = 150, 20
#: errors kept (and printed) per run; the count goes on
MAX_ERRORS = 50

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_NUMBERED = re.compile(r"^\* (\d+) (EXISTS|EXPUNGE|FETCH|RECENT)\b")
_UID = re.compile(r"\bUID (\d+)")
_FLAGS = re.compile(r"\bFLAGS \(([^)]*)\)")
_MODSEQ = re.compile(r"\bMODSEQ \((\d+)\)")
_CODE = re.compile(r"\[(UIDVALIDITY|HIGHESTMODSEQ|APPENDUID) (\d+)(?: (\d+))?")


class StressError(Exception):
    """The session cannot go on (timeout, disconnect, a BAD): counted, then a new login."""


@dataclass
class Shared:
    """What all clients know: facts a later session must not contradict."""

    #: mailbox -> UID -> monotonic time a session was told it was expunged
    expunged: dict[str, dict[int, float]] = field(default_factory=dict)
    #: mailbox -> highest UID any session has seen
    max_uid: dict[str, int] = field(default_factory=dict)
    uidvalidity: dict[str, int] = field(default_factory=dict)
    #: mailbox -> (highest HIGHESTMODSEQ seen at a SELECT, when that SELECT ended)
    highestmodseq: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    logins: int = 0

    def error(self, client: int, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"client {client}: {text}")


@dataclass
class StressResult:
    seed: int
    clients: int
    seconds: float
    errors: list[str]
    error_count: int
    ops: Counter[str]
    logins: int

    @property
    def operations(self) -> int:
        return sum(self.ops.values())

    def summary(self) -> str:
        top = ", ".join(f"{k} {v}" for k, v in sorted(self.ops.items()))
        return (
            f"seed {self.seed}: {self.clients} clients, {self.seconds:.1f} s, "
            f"{self.logins} logins, {self.operations} operations ({top}), "
            f"{self.error_count} errors"
        )


class Client:
    """One session at a time of one simulated user, with its mailbox model."""

    def __init__(
        self,
        n: int,
        host: str,
        port: int,
        user: str,
        password: str,
        shared: Shared,
        rng: random.Random,
    ) -> None:
        self.n, self.host, self.port = n, host, port
        self.user, self.password = user, password
        self.shared, self.rng = shared, rng
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.tags = 0
        self._reset(None)

    # ------------------------------------------------------------- the model
    def _reset(self, mailbox: str | None) -> None:
        self.mailbox = mailbox
        self.seq: list[int | None] = []  # sequence number - 1 -> UID (None: not yet learnt)
        self.state: dict[int, tuple[frozenset[str], int]] = {}  # UID -> (flags, MODSEQ)
        self.gone: set[int] = set()  # UIDs this session was told were expunged
        self.running: tuple[str, bool] = ("", False)  # command name, by UID

    def fail(self, text: str) -> None:
        self.shared.error(self.n, f"[{self.mailbox}] {text}")

    def untagged(self, line: str) -> None:
        """Fold one untagged response into the model, checking it first."""
        m = _NUMBERED.match(line)
        if m is None:
            return
        n, kind = int(m.group(1)), m.group(2)
        count = len(self.seq)
        if kind == "EXISTS":
            if n < count:
                self.fail(f"EXISTS {n} below the {count} messages announced: {line}")
            self.seq += [None] * (n - count)
        elif kind == "EXPUNGE":
            name, by_uid = self.running
            if name in ("FETCH", "STORE", "SEARCH") and not by_uid:
                self.fail(f"EXPUNGE during {name} by sequence number: {line}")
            if not 1 <= n <= count:
                self.fail(f"EXPUNGE {n} outside 1..{count}: {line}")
                return
            uid = self.seq.pop(n - 1)
            if uid is not None:
                self.gone.add(uid)
                self.state.pop(uid, None)
                assert self.mailbox is not None
                self.shared.expunged.setdefault(self.mailbox, {}).setdefault(uid, time.monotonic())
        elif kind == "FETCH":
            if not 1 <= n <= count:
                self.fail(f"FETCH {n} outside 1..{count}: {line[:120]}")
                return
            self._fetched(n, line)

    def _fetched(self, n: int, line: str) -> None:
        u = _UID.search(line)
        uid = self.seq[n - 1]
        if u is not None:
            got = int(u.group(1))
            if uid is not None and uid != got:
                self.fail(f"message {n} was UID {uid}, now UID {got}")
                return
            if got in self.gone:
                self.fail(f"UID {got} came back after its EXPUNGE: {line[:120]}")
            lower, higher = self._neighbours(n - 1)
            if (lower is not None and lower >= got) or (higher is not None and higher <= got):
                self.fail(f"UID {got} at {n} breaks the ascending order")
            self.seq[n - 1] = uid = got
            assert self.mailbox is not None
            top = self.shared.max_uid.get(self.mailbox, 0)
            self.shared.max_uid[self.mailbox] = max(top, got)
        f, ms = _FLAGS.search(line), _MODSEQ.search(line)
        if uid is None or f is None or ms is None:
            return
        flags = frozenset(x for x in f.group(1).split() if x != "\\Recent")
        modseq = int(ms.group(1))
        old = self.state.get(uid)
        if old is not None:
            if modseq < old[1]:
                self.fail(f"UID {uid} MODSEQ went down {old[1]} -> {modseq}")
            elif modseq == old[1] and flags != old[0]:
                self.fail(
                    f"UID {uid} MODSEQ {modseq} with flags {sorted(old[0])} and {sorted(flags)}"
                )
        if old is None or modseq >= old[1]:
            self.state[uid] = (flags, modseq)

    def _neighbours(self, i: int) -> tuple[int | None, int | None]:
        """The nearest known UIDs below and above position ``i``."""
        lower = higher = None
        for j in range(i - 1, -1, -1):
            if self.seq[j] is not None:
                lower = self.seq[j]
                break
        for j in range(i + 1, len(self.seq)):
            if self.seq[j] is not None:
                higher = self.seq[j]
                break
        return lower, higher

    # ------------------------------------------------------------ the wire
    async def _line(self) -> tuple[str, bytes]:
        """One response line as text (literals cut out), and the literals' bytes."""
        assert self.reader is not None
        text, data = b"", b""
        while True:
            part = await self.reader.readuntil(b"\r\n")
            m = _LITERAL.search(part)
            if m is None:
                text += part[:-2]
                return text.decode("utf-8", "replace"), data
            text += part[: m.start()] + b"{}"
            data += await self.reader.readexactly(int(m.group(1)))

    async def _read_until(self, tag: str) -> tuple[list[str], str]:
        out: list[str] = []
        while True:
            line, _ = await self._line()
            if line.startswith(tag + " "):
                return out, line
            if line.startswith("* BYE") and self.running[0] != "LOGOUT":
                raise StressError(f"BYE: {line}")
            out.append(line)
            self.untagged(line)

    async def command(
        self, text: str, data: bytes = b"", *, ok: bool = True
    ) -> tuple[list[str], str]:
        """Send one command (``data``: a LITERAL+ APPEND message) and collect its answer."""
        assert self.writer is not None
        self.tags += 1
        tag = f"c{self.tags}"
        words = text.split(" ", 2)
        by_uid = words[0] == "UID"
        self.running = (words[1] if by_uid else words[0], by_uid)
        self.writer.write(
            f"{tag} {text}".encode() + (b"{%d+}\r\n" % len(data) + data if data else b"") + b"\r\n"
        )
        try:
            untagged, tagged = await asyncio.wait_for(self._read_until(tag), COMMAND_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise StressError(f"{text}: {type(exc).__name__}") from None
        finally:
            self.running = ("", False)
        status = tagged.split(" ", 2)[1]
        if status == "BAD" or (ok and status != "OK"):
            self.fail(f"{text[:60]} -> {tagged}")
            if status == "BAD":
                raise StressError(tagged)
        return untagged, tagged

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        await asyncio.wait_for(self.reader.readuntil(b"\r\n"), COMMAND_TIMEOUT)
        _, tagged = await self.command(f'LOGIN "{self.user}" "{self.password}"')
        if " OK" not in tagged:
            raise StressError(f"login refused: {tagged}")
        self.shared.logins += 1
        self._reset(None)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    # ------------------------------------------------------------ operations
    def _set(self) -> str:
        """A random sequence set inside the messages announced (or ``1:*``)."""
        count = len(self.seq)
        a = self.rng.randint(1, count)
        return f"{a}:{min(count, a + self.rng.randint(0, 4))}"

    def _uid_set(self) -> str | None:
        known = [u for u in self.seq if u is not None]
        return ",".join(map(str, self.rng.sample(known, min(len(known), 3)))) if known else None

    async def select(self, mailbox: str) -> None:
        started = time.monotonic()
        seen_before = {u for u, t in self.shared.expunged.get(mailbox, {}).items() if t < started}
        floor = max(
            (m for t, m in self.shared.highestmodseq.get(mailbox, []) if t < started), default=0
        )
        self._reset(mailbox)
        untagged, _ = await self.command(f"SELECT {mailbox} (CONDSTORE)")
        for line in untagged:
            for code, value, _ in _CODE.findall(line):
                v = int(value)
                if code == "UIDVALIDITY" and self.shared.uidvalidity.setdefault(mailbox, v) != v:
                    self.fail(f"UIDVALIDITY {v}, was {self.shared.uidvalidity[mailbox]}")
                if code == "HIGHESTMODSEQ":
                    if v < floor:
                        self.fail(f"HIGHESTMODSEQ {v} below {floor} seen before")
                    self.shared.highestmodseq.setdefault(mailbox, []).append((time.monotonic(), v))
        await self.sync()
        back = seen_before & {u for u in self.seq if u is not None}
        if back:
            self.fail(f"expunged UIDs {sorted(back)[:5]} in a later SELECT")

    async def sync(self) -> None:
        """NOOP, then every message's UID, FLAGS and MODSEQ: the model must agree."""
        await self.command("NOOP")
        if not self.seq:
            return
        count = len(self.seq)
        untagged, _ = await self.command("FETCH 1:* (UID FLAGS MODSEQ)")
        numbers = {
            int(m.group(1))
            for line in untagged
            if (m := _NUMBERED.match(line)) and m.group(2) == "FETCH"
        }
        missing = set(range(1, count + 1)) - numbers
        if missing:
            self.fail(f"FETCH 1:* of {count} messages left out {sorted(missing)[:10]}")

    async def step(self) -> str:
        """One random operation; returns its name."""
        rng = self.rng
        if self.mailbox is None or rng.random() < 0.05:
            await self.select(rng.choice(MAILBOXES))
            return "SELECT"
        other = rng.choice([m for m in MAILBOXES if m != self.mailbox])
        op = rng.choices(
            [
                "APPEND",
                "STORE",
                "UID STORE",
                "COPY",
                "MOVE",
                "UID MOVE",
                "EXPUNGE",
                "FETCH",
                "UID FETCH",
                "SEARCH",
                "UID SEARCH",
                "IDLE",
                "NOOP",
                "SYNC",
            ],
            [14, 10, 6, 4, 3, 3, 4, 10, 5, 5, 5, 4, 4, 3],
        )[0]
        empty = not self.seq
        if op == "APPEND" and len(self.seq) > TRIM_ABOVE:  # keep the mailboxes small
            await self.command(f"STORE 1:{TRIM_COUNT} +FLAGS.SILENT (\\Deleted)")
            await self.command("EXPUNGE")
            return "TRIM"
        if op == "APPEND" or (empty and op not in ("IDLE", "NOOP")):
            await self.append(rng.choice([self.mailbox, self.mailbox, other]))
            return "APPEND"
        if op in ("STORE", "UID STORE"):
            mode = rng.choice(["+FLAGS", "-FLAGS", "FLAGS"])
            flags = " ".join(rng.sample(FLAGS, rng.randint(1, 2)))
            target = self._set() if op == "STORE" else self._uid_set()
            if target:
                await self.command(f"{op} {target} {mode} ({flags})")
        elif op in ("COPY", "MOVE", "UID MOVE"):
            target = self._uid_set() if op.startswith("UID") else self._set()
            if target:
                # RFC 2180 §4.4.1: COPY of a message another session expunged may fail
                # whole, NO [EXPUNGEISSUED] (Dovecot); mailtool copies the others
                _, tagged = await self.command(f"{op} {target} {other}", ok=False)
                if " OK" not in tagged and "[EXPUNGEISSUED]" not in tagged:
                    self.fail(f"{op} {target} -> {tagged}")
        elif op == "EXPUNGE":
            await self.command("EXPUNGE")
        elif op == "FETCH":
            items = rng.choice(
                [
                    "(UID FLAGS MODSEQ)",
                    "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                    "(UID RFC822.SIZE BODY.PEEK[])",
                ]
            )
            await self.command(f"FETCH {self._set()} {items}")
        elif op == "UID FETCH":
            target = self._uid_set()
            if target:
                await self.command(f"UID FETCH {target} (FLAGS MODSEQ BODY.PEEK[TEXT])")
        elif op in ("SEARCH", "UID SEARCH"):
            await self.search(
                op, rng.choice(["ALL", "FLAGGED", "UNSEEN", "SUBJECT stress", "KEYWORD $Work"])
            )
        elif op == "IDLE":
            await self.idle(rng.uniform(0.05, 0.5))
        elif op == "NOOP":
            await self.command("NOOP")
        else:
            await self.sync()
        return op

    async def append(self, mailbox: str) -> None:
        top = self.shared.max_uid.get(mailbox, 0)
        flags = " ".join(self.rng.sample(FLAGS[:3] + FLAGS[4:], self.rng.randint(0, 2)))
        body = (
            f"Subject: stress {self.n} {self.rng.random()}\r\nFrom: s@example.test\r\n\r\nbody\r\n"
        )
        _, tagged = await self.command(f"APPEND {mailbox} ({flags}) ", body.encode())
        m = re.search(r"APPENDUID \d+ (\d+)", tagged)
        if m is None:
            self.fail(f"APPEND without APPENDUID: {tagged}")
            return
        uid = int(m.group(1))
        if uid <= top:
            self.fail(f"APPENDUID {uid} in {mailbox}, not above UID {top} seen before")
        self.shared.max_uid[mailbox] = max(self.shared.max_uid.get(mailbox, 0), uid)

    async def search(self, op: str, key: str) -> None:
        told = set(self.gone)  # EXPUNGEs may follow the SEARCH in its own answer
        untagged, _ = await self.command(f"{op} {key}")
        found = [
            int(x) for line in untagged if line.startswith("* SEARCH") for x in line.split()[2:]
        ]
        if op == "SEARCH":
            bad = [n for n in found if not 1 <= n <= len(self.seq)]
            if bad:
                self.fail(f"SEARCH answered {bad[:5]} outside 1..{len(self.seq)}")
        elif told & set(found):
            self.fail(f"UID SEARCH answered expunged UIDs {sorted(told & set(found))[:5]}")

    async def idle(self, seconds: float) -> None:
        assert self.writer is not None
        self.tags += 1
        tag = f"c{self.tags}"
        self.writer.write(f"{tag} IDLE\r\n".encode())
        try:
            while True:  # untagged lines may come before the continuation
                line, _ = await asyncio.wait_for(self._line(), COMMAND_TIMEOUT)
                if line.startswith("+"):
                    break
                self.untagged(line)
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    line, _ = await asyncio.wait_for(self._line(), left)
                except TimeoutError:
                    break
                self.untagged(line)
            self.writer.write(b"DONE\r\n")
            _, tagged = await asyncio.wait_for(self._read_until(tag), COMMAND_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise StressError(f"IDLE: {type(exc).__name__}") from None
        if " OK" not in tagged:
            self.fail(f"IDLE -> {tagged}")

    async def run(self, until: float) -> None:
        """Sessions of random length until ``until`` (monotonic)."""
        while time.monotonic() < until:
            try:
                await self.connect()
                for _ in range(self.rng.randint(*SESSION_OPS)):
                    if time.monotonic() >= until:
                        break
                    self.shared.ops[await self.step()] += 1
                await self.command("LOGOUT")
            except StressError as exc:
                self.fail(str(exc))
            except (OSError, asyncio.IncompleteReadError) as exc:
                self.fail(f"connection: {type(exc).__name__}: {exc}")
            finally:
                await self.close()


async def prepare(host: str, port: int, user: str, password: str) -> None:
    """Create the shared mailboxes (an existing one is fine) and put a message in each."""
    c = Client(-1, host, port, user, password, Shared(), random.Random(0))
    await c.connect()
    for box in MAILBOXES:
        await c.command(f"CREATE {box}", ok=False)
        await c.append(box)
    await c.command("LOGOUT")
    await c.close()


async def run_stress(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    clients: int = 10,
    seconds: float = 60.0,
    seed: int | None = None,
) -> StressResult:
    """Run ``clients`` clients for ``seconds``; every check failure is in the result."""
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32)
    await prepare(host, port, user, password)
    shared = Shared()
    started = time.monotonic()
    until = started + seconds
    workers = [
        Client(i, host, port, user, password, shared, random.Random(f"{seed}-{i}")).run(until)
        for i in range(clients)
    ]
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - started
    return StressResult(
        seed, clients, elapsed, shared.errors, shared.error_count, shared.ops, shared.logins
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    result = asyncio.run(
        run_stress(
            args.host,
            args.port,
            args.user,
            args.password,
            clients=args.clients,
            seconds=args.seconds,
            seed=args.seed,
        )
    )
    print(result.summary())
    for err in result.errors:
        print(" ", err)
    raise SystemExit(1 if result.error_count else 0)


if __name__ == "__main__":
    main()
