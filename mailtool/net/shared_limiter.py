"""Connection counts shared by the processes that serve one port (``[limits]
smtp_workers``): the kernel spreads an address's connections over the processes
(SO_REUSEPORT), so counts kept in each process's memory would let a client have
``max_connections_per_ip`` per process. :class:`SharedConnectionLimiter` keeps them
in one small memory-mapped file instead, and answers for all of them together.

The file (in the data dir's ``run/``; made anew by the main process at each start)::

    header   magic, slot count, process count, the two bounds
    totals   one u32 per process: its open connections
    slots    a hash table keyed by the client address (a 16-byte digest), each slot
             holding one u32 count per process

Every process writes only its own column, so the main process can wipe the column
of a worker that died (:meth:`forget`): a crash never leaves connections counted.
An ``acquire`` or ``release`` is one ``flock`` around a few reads and writes of the
mapping (microseconds), once per connection. The table has twice as many slots as
the listener has connections, so a probe is short; slots whose counts all went
back to zero are reused, and the table is rebuilt when probes grow long.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
from collections.abc import Iterator
from pathlib import Path

MAGIC = b"MTLIMIT1"
_HEADER = struct.Struct("<8sIIII")  # magic, slots, processes, total, per_ip
_U32 = struct.Struct("<I")
_KEY = 16
#: probes past this many slots rebuild the table (it holds mostly emptied slots)
_LONG_PROBE = 32


def _key(ip: str) -> bytes:
    # a digest, not the packed address: every client address (PROXY's, "?") fits
    return hashlib.blake2b(ip.encode("utf-8", "surrogatepass"), digest_size=_KEY).digest()


class SharedConnectionLimiter:
    """:class:`~mailtool.net.limits.ConnectionLimiter` for several processes: ``total``
    and ``per_ip`` bound the sum of every process's connections. ``index`` is this
    process's column (0: the main process, which ``create``\\ s the file)."""

    def __init__(
        self, path: Path, total: int, per_ip: int, *, index: int, processes: int,
        create: bool = False,
    ) -> None:  # fmt: skip
        if not 0 <= index < processes:
            raise ValueError(f"process index {index} outside 0..{processes - 1}")
        self.total = total
        self.per_ip = per_ip
        self.index = index
        self.processes = processes
        self.slots = max(64, 2 * total)
        self._counts = struct.Struct(f"<{processes}I")
        self._slot_size = 1 + _KEY + self._counts.size  # used flag, key, counts
        self._slots_at = _HEADER.size + _U32.size * processes
        size = self._slots_at + self.slots * self._slot_size
        if create:
            # a new file put in place whole: workers of a previous start that have not
            # stopped yet keep the old one (a truncated mapping would kill them, SIGBUS)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fresh = path.with_name(path.name + ".new")
            fresh.unlink(missing_ok=True)
            self._fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        else:
            self._fd = os.open(path, os.O_RDWR)
        try:
            if create:
                os.ftruncate(self._fd, size)
                self._map = mmap.mmap(self._fd, size)
                _HEADER.pack_into(self._map, 0, MAGIC, self.slots, processes, total, per_ip)
                os.replace(fresh, path)
            else:
                self._map = mmap.mmap(self._fd, size)
                made = _HEADER.unpack_from(self._map, 0)
                if made != (MAGIC, self.slots, processes, total, per_ip):
                    raise ValueError(f"{path} was made for other limits")
        except BaseException:
            os.close(self._fd)
            raise

    @property
    def open(self) -> int:
        """Connections open in all the processes together."""
        with self._locked():
            return self._total()

    def acquire(self, ip: str) -> bool:
        """One more connection from ``ip``, if the bounds allow it."""
        key = _key(ip)
        with self._locked():
            if self._total() >= self.total:
                return False
            at = self._find(key, insert=True)
            if at < 0:  # cannot happen: live addresses <= total < slots; never write at -1
                return False
            counts = list(self._counts.unpack_from(self._map, at + 1 + _KEY))
            if sum(counts) >= self.per_ip:
                return False
            counts[self.index] += 1
            self._map[at] = 1
            self._map[at + 1 : at + 1 + _KEY] = key
            self._counts.pack_into(self._map, at + 1 + _KEY, *counts)
            self._add_total(1)
            return True

    def release(self, ip: str) -> None:
        """Pair of a successful :meth:`acquire` in this process."""
        key = _key(ip)
        with self._locked():
            at = self._find(key, insert=False)
            if at < 0:
                return
            where = at + 1 + _KEY + 4 * self.index
            (mine,) = _U32.unpack_from(self._map, where)
            if mine:
                _U32.pack_into(self._map, where, mine - 1)
                self._add_total(-1)

    def forget(self, index: int) -> None:
        """Wipe process ``index``'s counts (it ended: its connections are gone)."""
        with self._locked():
            _U32.pack_into(self._map, _HEADER.size + _U32.size * index, 0)
            for n in range(self.slots):
                _U32.pack_into(self._map, self._slot(n) + 1 + _KEY + 4 * index, 0)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._map.close()
            os.close(self._fd)

    # ------------------------------------------------------------------ inside

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _slot(self, n: int) -> int:
        return self._slots_at + n * self._slot_size

    def _total(self) -> int:
        return sum(struct.unpack_from(f"<{self.processes}I", self._map, _HEADER.size))

    def _add_total(self, delta: int) -> None:
        where = _HEADER.size + _U32.size * self.index
        (mine,) = _U32.unpack_from(self._map, where)
        _U32.pack_into(self._map, where, mine + delta)

    def _live(self, at: int) -> bool:
        return any(self._counts.unpack_from(self._map, at + 1 + _KEY))

    def _find(self, key: bytes, *, insert: bool, rebuilt: bool = False) -> int:
        """The offset of ``key``'s slot; for ``insert``, a free one when it has none
        (-1 without ``insert``)."""
        start = int.from_bytes(key[:4], "little") % self.slots
        reusable = -1
        for step in range(self.slots):
            at = self._slot((start + step) % self.slots)
            if self._map[at] == 0:  # never used: the key is not further on
                if not insert:
                    return -1
                found = reusable if reusable >= 0 else at
                break
            if self._map[at + 1 : at + 1 + _KEY] == key:
                return at
            if reusable < 0 and not self._live(at):
                reusable = at
            if step == _LONG_PROBE and insert and not rebuilt:
                self._rebuild()
                return self._find(key, insert=True, rebuilt=True)
        else:
            if not insert or reusable < 0:
                return -1
            found = reusable
        # a reused slot keeps zero counts; the caller writes the key and its count
        self._counts.pack_into(self._map, found + 1 + _KEY, *([0] * self.processes))
        return found

    def _rebuild(self) -> None:
        """Drop emptied slots and place the live ones again (short probes)."""
        live = []
        for n in range(self.slots):
            at = self._slot(n)
            if self._map[at] and self._live(at):
                live.append((bytes(self._map[at + 1 : at + 1 + _KEY]),
                             self._counts.unpack_from(self._map, at + 1 + _KEY)))  # fmt: skip
        self._map[self._slots_at :] = bytes(len(self._map) - self._slots_at)
        for key, counts in live:
            start = int.from_bytes(key[:4], "little") % self.slots
            for step in range(self.slots):
                at = self._slot((start + step) % self.slots)
                if self._map[at] == 0:
                    self._map[at] = 1
                    self._map[at + 1 : at + 1 + _KEY] = key
                    self._counts.pack_into(self._map, at + 1 + _KEY, *counts)
                    break
