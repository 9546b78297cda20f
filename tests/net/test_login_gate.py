"""LoginGate: password checks off the loop, bounded, throttled per (IP, account)."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time

import pytest

from mailtool.net.limits import LoginThrottle
from mailtool.net.login import BUSY, THROTTLED, LoginGate, LoginRefused
from mailtool.protocol import sasl

IP = "192.0.2.7"


class Accounts:
    """verify_password/scram_credentials that count the checks and how many overlap."""

    def __init__(self, passwords: dict[str, str], *, pause: float = 0.0) -> None:
        self.passwords = passwords
        self.pause = pause
        self.checks = 0
        self.running = 0
        self.most_running = 0
        self.threads: set[str] = set()
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def verify_password(self, user: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.threads.add(threading.current_thread().name)
        self.release.wait(5)
        time.sleep(self.pause)
        with self._lock:
            self.running -= 1
        return self.passwords.get(user) == password

    def scram_credentials(self, user: str) -> sasl.ScramCredentials | None:
        with self._lock:
            self.checks += 1
        pw = self.passwords.get(user)
        return sasl.scram_credentials(pw, iterations=4096) if pw else None


def gate(
    per_account: int = 3, per_ip: int = 10, running_per_ip: int = 2, **kw: int
) -> LoginGate:
    """``per_account``/``per_ip``: failure budgets; ``running_per_ip``: checks at once."""
    throttle = LoginThrottle(per_ip, 0.0, max_failures_per_account=per_account)
    return LoginGate(throttle, per_ip=running_per_ip, **kw)


async def login(g: LoginGate, accounts: Accounts, user: str, password: str, ip: str = IP) -> str:
    """One AUTH PLAIN as a protocol runs it: 'ok', 'failed', or the refusal reason."""
    try:
        async with g.attempt(ip) as attempt:
            mech = attempt.mechanism("PLAIN", accounts)
            out = await attempt.step(mech, f"\0{user}\0{password}".encode())
            assert isinstance(out, sasl.Done)
            attempt.succeeded()
            return "ok"
    except LoginRefused as exc:
        return exc.reason
    except sasl.SaslAuthFailed:
        return "failed"


def test_parallel_wrong_logins_are_counted_before_they_are_checked():
    # issue 15: 50 parallel wrong LOGINs were all checked (check and record split by an await)
    accounts = Accounts({"a@x.test": "right"}, pause=0.01)
    g = gate(per_account=10, per_ip=30, workers=4, running_per_ip=4)

    async def main() -> list[str]:
        return await asyncio.gather(*(login(g, accounts, "a@x.test", "guess") for _ in range(50)))

    outcomes = asyncio.run(main())
    assert accounts.checks == 10
    assert outcomes.count("failed") == 10
    assert outcomes.count(THROTTLED) == 40
    g.close()


def test_success_for_one_account_does_not_clear_anothers_failures():
    accounts = Accounts({"a@x.test": "pa", "b@x.test": "pb"})
    g = gate(per_account=3, per_ip=10)

    async def main() -> list[str]:
        out = [await login(g, accounts, "a@x.test", "wrong") for _ in range(3)]
        out.append(await login(g, accounts, "b@x.test", "pb"))
        out.append(await login(g, accounts, "a@x.test", "pa"))  # right, but A's budget is spent
        out.append(await login(g, accounts, "A@X.test ", "pa"))  # another spelling: same account
        return out

    assert asyncio.run(main()) == ["failed"] * 3 + ["ok", THROTTLED, THROTTLED]
    assert accounts.checks == 4
    g.close()


def test_success_clears_the_own_accounts_failures():
    accounts = Accounts({"a@x.test": "pa"})
    g = gate(per_account=3, per_ip=10)

    async def main() -> list[str]:
        out = [await login(g, accounts, "a@x.test", "wrong") for _ in range(2)]
        out.append(await login(g, accounts, "a@x.test", "pa"))
        out += [await login(g, accounts, "a@x.test", "wrong") for _ in range(3)]
        return out

    assert asyncio.run(main()) == ["failed", "failed", "ok", "failed", "failed", "failed"]
    g.close()


def test_password_spraying_hits_the_per_ip_bound_and_other_ips_are_served():
    accounts = Accounts({"a@x.test": "pa"})
    g = gate(per_account=3, per_ip=5)

    async def main() -> list[str]:
        out = [await login(g, accounts, f"u{i}@x.test", "guess") for i in range(8)]
        out.append(await login(g, accounts, "a@x.test", "pa", ip="198.51.100.1"))
        return out

    assert asyncio.run(main()) == ["failed"] * 5 + [THROTTLED] * 3 + ["ok"]
    assert accounts.checks == 6
    g.close()


def test_checks_run_in_the_pool_one_ip_at_most_per_ip_at_once():
    accounts = Accounts({"a@x.test": "pa"}, pause=0.02)
    g = gate(per_account=50, per_ip=50, workers=4, running_per_ip=2)

    async def main() -> list[str]:
        return await asyncio.gather(*(login(g, accounts, "a@x.test", "pa") for _ in range(8)))

    assert asyncio.run(main()) == ["ok"] * 8
    assert accounts.most_running == 2
    assert all(name.startswith("auth") for name in accounts.threads)
    g.close()


def test_past_the_queue_bound_logins_are_refused_at_once():
    accounts = Accounts({"a@x.test": "pa"})
    accounts.release.clear()  # every check waits until we let it go
    g = gate(per_account=50, per_ip=50, workers=2, max_queue=3)

    async def main() -> list[str]:
        tasks = [
            asyncio.create_task(login(g, accounts, "a@x.test", "pa", ip=f"203.0.113.{i}"))
            for i in range(5)
        ]
        done: set[asyncio.Task[str]] = set()
        while len(done) < 2:  # the two past the bound are answered while the rest wait
            done, _ = await asyncio.wait(tasks, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(0.01)
            done = {t for t in tasks if t.done()}
        early = sorted(t.result() for t in done)
        accounts.release.set()
        return early + sorted([await t for t in tasks if t not in done])

    assert asyncio.run(main()) == [BUSY, BUSY, "ok", "ok", "ok"]
    assert g.queued == 0
    g.close()


def test_the_event_loop_runs_while_checks_do():
    accounts = Accounts({"a@x.test": "pa"}, pause=0.2)
    g = gate(workers=1, running_per_ip=1)

    async def main() -> int:
        ticks = 0
        task = asyncio.create_task(login(g, accounts, "a@x.test", "pa"))
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        assert task.result() == "ok"
        return ticks

    assert asyncio.run(main()) >= 5
    g.close()


def _scram_first(user: str) -> bytes:
    return f"n,,n={user},r=abcdefghijklmnop".encode()


def test_abandoned_scram_after_the_lookup_counts_as_a_failure():
    accounts = Accounts({"a@x.test": "pa"})
    g = gate(per_account=2, per_ip=10)

    async def abandon() -> None:
        async with g.attempt(IP) as attempt:
            mech = attempt.mechanism("SCRAM-SHA-256", accounts)
            challenge = await attempt.step(mech, _scram_first("a@x.test"))
            assert isinstance(challenge, bytes) and b",i=4096" in challenge
            # the client goes away here

    async def main() -> str:
        await abandon()
        await abandon()
        return await login(g, accounts, "a@x.test", "pa")

    assert asyncio.run(main()) == THROTTLED
    g.close()


def test_a_throttled_ip_is_refused_before_any_exchange():
    accounts = Accounts({})
    g = gate(per_account=1, per_ip=1)

    async def main() -> list[str]:
        return [await login(g, accounts, "x@x.test", "p") for _ in range(2)]

    assert asyncio.run(main()) == ["failed", THROTTLED]
    assert accounts.checks == 1
    g.close()


def test_check_password_for_login_commands():
    accounts = Accounts({"a@x.test": "pa"})
    g = gate()

    async def main() -> list[str]:
        out = []
        for pw in ("nope", "pa"):
            try:
                async with g.attempt(IP) as attempt:
                    await attempt.check_password(accounts.verify_password, "a@x.test", pw)
                    attempt.succeeded()
                    out.append("ok")
            except sasl.SaslAuthFailed:
                out.append("failed")
        return out

    assert asyncio.run(main()) == ["failed", "ok"]
    g.close()


def test_failure_delay_is_waited_before_the_answer():
    accounts = Accounts({})
    g = LoginGate(LoginThrottle(10, 0.3))
    start = time.monotonic()
    assert asyncio.run(login(g, accounts, "a@x.test", "p")) == "failed"
    assert time.monotonic() - start >= 0.3
    g.close()


@pytest.mark.parametrize("user", ["ghost@x.test", "other@x.test"])
def test_scram_for_unknown_users_uses_the_mock_salt(user: str):
    class WithMock(Accounts):
        def scram_mock_salt(self, name: str) -> bytes:
            return sasl.mock_salt(b"k" * 32, name)

    g = gate()

    async def main() -> bytes:
        async with g.attempt(IP) as attempt:
            mech = attempt.mechanism("SCRAM-SHA-256", WithMock({}))
            out = await attempt.step(mech, _scram_first(user))
            assert isinstance(out, bytes)
            return out

    challenge = asyncio.run(main())
    salt = dict(kv.split("=", 1) for kv in challenge.decode().split(","))["s"]
    assert base64.b64decode(salt) == sasl.mock_salt(b"k" * 32, user)
    assert f",i={sasl.DEFAULT_ITERATIONS}".encode() in challenge
    g.close()


def test_offload_runs_in_a_worker_process():
    # argon2id's 64 MiB mapped and unmapped at every check stalls the process it runs in
    g = gate(workers=1)
    try:
        child = g.offload(os.getpid)()
        assert child != os.getpid()
        assert g.offload(os.getpid)() == child  # the same worker, kept
    finally:
        g.close()


def test_acting_as_another_identity_is_refused_and_counted():
    accounts = Accounts({"a@x.test": "pa"})
    g = gate(per_account=1, per_ip=10)

    async def main() -> list[bool | str]:
        async with g.attempt(IP) as attempt:
            mech = attempt.mechanism("PLAIN", accounts)
            out = await attempt.step(mech, b"boss@x.test\0a@x.test\0pa")
            assert isinstance(out, sasl.Done)
            accepted = await attempt.accept(out)
        return [accepted, await login(g, accounts, "a@x.test", "pa")]

    assert asyncio.run(main()) == [False, THROTTLED]
    g.close()
