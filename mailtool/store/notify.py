"""Telling other processes that a user's mail changed, without anyone polling.

Every process that commits a change to a user's index (the server, its SMTP
worker processes, the queue runner, ``mailtool`` CLI commands) touches
``<mail root>/.notify/<user>`` right after the commit (:meth:`ChangeNotifier.poke`;
the index calls it from its commit path, so no writer can forget). A process
that has watchers (IMAP sessions in IDLE) watches that one directory: one
inotify instance per process, read by one thread blocked in ``poll(2)`` with
no timeout; an event names the user whose subscribers are called, and the
store fans the change out to that user's sessions in-process.

Why this and not a socket per server: the writers need to know nothing about
the readers (no registry of listening servers, nothing stale after a crash),
a poke is one ``utimensat`` system call, and processes that never watch (SMTP
workers, the CLI) never start the thread. Why one directory and not a watch
per user: one watch per process whatever the number of users (inotify
watches are a per-uid kernel limit); events for users nobody here watches
are read and dropped (a few microseconds each). See docs/dev/notifications.md.

Linux only (inotify through ctypes: the stdlib has no binding). Where inotify
cannot be had, the same single thread compares the watched users' files'
change times every :data:`FALLBACK_INTERVAL` seconds: one ``stat`` per
watched user per process, never per session.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import select
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: directory under the mail root holding one empty file per user, touched on change
NOTIFY_DIR = ".notify"
#: seconds between looks at the files when inotify is unavailable (not Linux)
FALLBACK_INTERVAL = 1.0
#: how long subscribe() waits for the watching thread to have its watch in place
READY_TIMEOUT = 5.0

# <sys/inotify.h>
_IN_ATTRIB = 0x00000004
_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_Q_OVERFLOW = 0x00004000
_IN_IGNORED = 0x00008000
_IN_ONLYDIR = 0x01000000
#: a poke is a utime (IN_ATTRIB); the first one creates the file (IN_CREATE, IN_CLOSE_WRITE)
_WATCH_MASK = _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE | _IN_ONLYDIR
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name
_READ_SIZE = 64 * 1024

Callback = Callable[[], None]


def file_name(key: str) -> str:
    """The file of a user (``local@domain``: already a safe path component, see
    :mod:`.address`); a hash when too long for one."""
    if len(key.encode()) <= 200 and "/" not in key and not key.startswith("."):
        return key
    return "h-" + hashlib.sha256(key.encode()).hexdigest()


class Inotify:
    """The three inotify system calls (inotify(7)) and the parsing of its events."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            self._init = libc.inotify_init1
            self._add = libc.inotify_add_watch
        except AttributeError:
            raise OSError(errno.ENOSYS, "no inotify on this system") from None
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        fd = self._init(os.O_CLOEXEC | os.O_NONBLOCK)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1: " + os.strerror(ctypes.get_errno()))
        self.fd: int = fd

    def add_watch(self, path: Path, mask: int) -> int:
        wd = self._add(self.fd, os.fsencode(path), mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_add_watch {path}: {os.strerror(err)}")
        return int(wd)

    def read(self) -> list[tuple[int, int, str]]:
        """Pending events as (watch descriptor, mask, name); [] when none."""
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return []
        out = []
        pos = 0
        while pos + _EVENT.size <= len(data):
            wd, mask, _cookie, size = _EVENT.unpack_from(data, pos)
            pos += _EVENT.size
            name = data[pos : pos + size].rstrip(b"\0")
            pos += size
            out.append((wd, mask, os.fsdecode(name)))
        return out

    def close(self) -> None:
        os.close(self.fd)


class SubscriberThread:
    """Subscribers by key, and the one thread per process that calls them: the part the
    SQLite bus (:class:`ChangeNotifier`) and the PostgreSQL one (``store.pg.notify``) share.

    A subclass runs its watching in :meth:`_run` (started by the first :meth:`subscribe`),
    sets ``_ready`` once its watch is in place, and returns when ``_stop_r`` is readable."""

    thread_name = "mailtool-notify"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: key -> callbacks of the keys watched in this process
        self._subs: dict[str, list[Callable[..., None]]] = {}
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_r, self._stop_w = -1, -1

    def subscribe(self, key: str, callback: Callable[..., None]) -> Callable[[], None]:
        """Add ``callback`` for ``key`` (starting the thread if it is the first);
        returns the function that unsubscribes. The watch is in place when this
        returns (or :data:`READY_TIMEOUT` has passed)."""
        with self._lock:
            self._subs.setdefault(key, []).append(callback)
            if self._thread is None:
                self._stop_r, self._stop_w = os.pipe()
                self._thread = threading.Thread(
                    target=self._run, name=self.thread_name, daemon=True
                )
                self._thread.start()
        self._ready.wait(READY_TIMEOUT)

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._subs.get(key, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._subs.pop(key, None)

        return unsubscribe

    def close(self) -> None:
        """Stop the watching thread (if any)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        os.write(self._stop_w, b"x")
        thread.join(READY_TIMEOUT)
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)
        self._ready.clear()

    def _callbacks(self, keys: Iterable[str] | None) -> list[Callable[..., None]]:
        """The callbacks of ``keys`` (None: everyone's), taken under the lock."""
        with self._lock:
            if keys is None:
                return [cb for cbs in self._subs.values() for cb in cbs]
            return [cb for k in keys for cb in self._subs.get(k, ())]

    def _run(self) -> None:
        raise NotImplementedError


class ChangeNotifier(SubscriberThread):
    """The pokes and the watching of one mail root (one per :class:`MailStore`)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.dir = Path(root) / NOTIFY_DIR
        self._poke_failed = False
        #: "inotify" or "poll" once the thread runs (tests and the bench read it)
        self.mode: str | None = None

    # ------------------------------------------------------------ writer side
    def poke(self, key: str) -> None:
        """Tell every watching process that ``key``'s mail changed (after a commit)."""
        path = self.dir / file_name(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            try:
                self._create(path)
            except OSError as exc:
                self._poke_error(exc)
        except OSError as exc:
            self._poke_error(exc)

    def _create(self, path: Path) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))

    def _poke_error(self, exc: OSError) -> None:
        # IDLE sessions elsewhere then see the change at their client's next command
        if not self._poke_failed:
            self._poke_failed = True
            log.warning("store.notify cannot poke %s: %s", self.dir, exc)

    # ------------------------------------------------------------ reader side
    def subscribe(self, key: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback()`` (in the notifier's thread) after another process pokes
        ``key`` (this process's own pokes too: the caller tells them apart). Returns
        the function that unsubscribes. The watch is in place when this returns."""
        return super().subscribe(file_name(key), callback)

    def _dispatch(self, names: Iterable[str] | None) -> None:
        """Call the subscribers of ``names`` (None: everyone, events were lost)."""
        for callback in self._callbacks(names):
            try:
                callback()
            except Exception:
                log.exception("store.notify subscriber failed")

    def _run(self) -> None:
        try:
            ino = Inotify()
        except OSError as exc:
            log.info("store.notify: inotify unavailable (%s); looking every %s s",
                     exc, FALLBACK_INTERVAL)  # fmt: skip
            self._run_polling()
            return
        try:
            self._run_inotify(ino)
        finally:
            ino.close()

    def _watch(self, ino: Inotify) -> int:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return ino.add_watch(self.dir, _WATCH_MASK)

    def _run_inotify(self, ino: Inotify) -> None:
        try:
            wd = self._watch(ino)
        except OSError as exc:
            log.warning("store.notify: cannot watch %s (%s); looking every %s s",
                        self.dir, exc, FALLBACK_INTERVAL)  # fmt: skip
            self._run_polling()
            return
        self.mode = "inotify"
        self._ready.set()
        poller = select.poll()
        poller.register(ino.fd, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}  # no timeout: asleep until an event
            if self._stop_r in ready:
                return
            names: set[str] | None = set()
            for event_wd, mask, name in ino.read():
                if mask & _IN_Q_OVERFLOW:
                    names = None  # the kernel dropped events: tell everyone
                elif mask & _IN_IGNORED and event_wd == wd:
                    wd = self._watch(ino)  # the directory was removed: watch the new one
                    names = None
                elif name and names is not None:
                    names.add(name)
            if names is None or names:
                self._dispatch(names)

    def _run_polling(self) -> None:
        self.mode = "poll"
        seen: dict[str, int] = {}
        self._ready.set()
        while True:
            ready, _, _ = select.select([self._stop_r], [], [], FALLBACK_INTERVAL)
            if ready:
                return
            with self._lock:
                names = list(self._subs)
            changed = []
            for name in names:
                try:
                    stamp = os.stat(self.dir / name).st_ctime_ns
                except OSError:
                    stamp = 0
                if seen.get(name, stamp) != stamp:
                    changed.append(name)
                seen[name] = stamp
            if changed:
                self._dispatch(changed)


__all__ = [
    "FALLBACK_INTERVAL", "NOTIFY_DIR", "ChangeNotifier", "Inotify", "SubscriberThread", "file_name",
]
