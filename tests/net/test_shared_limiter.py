"""SharedConnectionLimiter: the bounds of one port hold for the sum of the processes
that serve it (each instance here stands for one process, as in ``serve``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtool.net.shared_limiter import SharedConnectionLimiter


def limiters(tmp_path: Path, total: int, per_ip: int, n: int = 3) -> list[SharedConnectionLimiter]:
    path = tmp_path / "run" / "connections-smtp.shm"
    main = SharedConnectionLimiter(path, total, per_ip, index=0, processes=n, create=True)
    return [main] + [
        SharedConnectionLimiter(path, total, per_ip, index=i, processes=n) for i in range(1, n)
    ]


def test_one_address_gets_per_ip_over_all_processes(tmp_path: Path) -> None:
    a, b, c = limiters(tmp_path, total=100, per_ip=4)
    taken = [lim.acquire("192.0.2.1") for lim in (a, b, c, a, b, c)]
    assert taken == [True, True, True, True, False, False]
    assert c.acquire("192.0.2.2")  # another address is still served
    b.release("192.0.2.1")
    assert c.acquire("192.0.2.1") and not a.acquire("192.0.2.1")
    assert a.open == 5


def test_the_total_counts_every_process(tmp_path: Path) -> None:
    a, b = limiters(tmp_path, total=5, per_ip=100, n=2)
    assert [a.acquire(f"10.0.0.{i}") for i in range(3)] == [True] * 3
    assert [b.acquire(f"10.0.1.{i}") for i in range(3)] == [True, True, False]
    a.release("10.0.0.0")
    assert b.acquire("10.0.1.9")


def test_a_dead_process_is_forgotten(tmp_path: Path) -> None:
    a, b, c = limiters(tmp_path, total=10, per_ip=3)
    assert b.acquire("192.0.2.1") and c.acquire("192.0.2.1") and c.acquire("192.0.2.1")
    assert not a.acquire("192.0.2.1")
    a.forget(2)  # the main process saw worker 2 end: its two connections are gone
    assert a.open == 1
    assert a.acquire("192.0.2.1") and a.acquire("192.0.2.1") and not b.acquire("192.0.2.1")


def test_a_release_without_acquire_changes_nothing(tmp_path: Path) -> None:
    a, b = limiters(tmp_path, total=10, per_ip=1, n=2)
    assert a.acquire("192.0.2.1")
    b.release("192.0.2.1")  # not b's: a's connection still counts
    b.release("198.51.100.7")  # never seen
    assert a.open == 1 and not b.acquire("192.0.2.1")


def test_churn_of_many_addresses_keeps_exact_counts(tmp_path: Path) -> None:
    """Far more distinct addresses over time than the table has slots (emptied slots
    are reused and the table rebuilt), a few always held: counts stay exact."""
    a, b = limiters(tmp_path, total=41, per_ip=2, n=2)
    held = [f"203.0.113.{i}" for i in range(20)]
    for ip in held:
        assert a.acquire(ip) and b.acquire(ip)
    for i in range(5000):
        ip = f"2001:db8::{i:x}"
        assert (a if i % 2 else b).acquire(ip)
        (a if i % 2 else b).release(ip)
    assert a.open == 40
    assert all(not a.acquire(ip) for ip in held)
    a.release(held[0])
    assert b.acquire(held[0]) and not a.acquire(held[0])


@pytest.mark.parametrize("ip", ["?", "", "x" * 5000, "::ffff:127.0.0.1", "\udcff"])
def test_any_address_string_is_a_key(tmp_path: Path, ip: str) -> None:
    a, b = limiters(tmp_path, total=10, per_ip=1, n=2)
    assert a.acquire(ip) and not b.acquire(ip)


def test_a_file_for_other_limits_is_refused(tmp_path: Path) -> None:
    limiters(tmp_path, total=10, per_ip=1, n=2)
    with pytest.raises(ValueError, match="other limits"):
        SharedConnectionLimiter(tmp_path / "run" / "connections-smtp.shm", 20, 1,
                                index=1, processes=2)  # fmt: skip


def test_a_new_start_leaves_the_old_processes_their_table(tmp_path: Path) -> None:
    """The main process makes a new file at each start; a worker of the previous start
    that is still stopping keeps counting in the old one (never a truncated mapping)."""
    old_main, old_worker = limiters(tmp_path, total=10, per_ip=2, n=2)
    assert old_worker.acquire("192.0.2.1")
    new_main, _ = limiters(tmp_path, total=10, per_ip=2, n=2)
    assert old_worker.acquire("192.0.2.1") and not old_main.acquire("192.0.2.1")
    old_worker.release("192.0.2.1")
    assert new_main.open == 0 and old_main.open == 1
