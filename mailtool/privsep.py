"""Least privilege (DESIGN principle 7): root only to bind ports, then the service user.

``mailtool serve`` started as root looks up ``[server] user`` first (creating it as a
system user when it is missing and ``[server] create_user`` allows), prepares the data
dir and the certificate, binds every listener, starts its SMTP worker processes, hands
the data dir tree to the user (:func:`hand_over_data_dir`) and then :func:`drop_to`
that user for good: supplementary groups, gid, uid (real, effective and saved). Each
SMTP worker does the same after binding its own sockets. Not started as root: nothing
changes.

CLI commands that write the data dir, run as root, first become the data dir's owner
(:func:`act_as_owner`), so ``mailtool user add`` leaves no root-owned file the server
could not open.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mailtool.errors import MailtoolError, ServiceError
from mailtool.store.datadir import TreeFix, secure_data_dir
from mailtool.store.datadir import mark_private as mark_private  # for server.py

ROOT_UID = 0
#: a system user's shell: the first that exists
NOLOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
#: the home of a user without one (Debian's convention for system users)
NO_HOME = "/nonexistent"
#: useradd's "username already in use" (another process created it at the same time)
USERADD_EXISTS = 9


@dataclass(frozen=True)
class ServiceUser:
    """The unprivileged account ``serve`` runs as."""

    name: str
    uid: int
    gid: int


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == ROOT_UID


def wants_drop(user: str) -> bool:
    """Started as root with a service user other than root: the privilege drop applies."""
    return is_root() and user != "root"


def _nologin() -> str:
    return next((s for s in NOLOGIN_SHELLS if os.path.exists(s)), NOLOGIN_SHELLS[0])


def create_command(name: str) -> list[str]:
    """The command that creates ``name`` as a system user with no shell and no home:
    useradd (shadow-utils, everywhere), else Debian's adduser."""
    shell = _nologin()
    if shutil.which("useradd") or not shutil.which("adduser"):
        return ["useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", NO_HOME, "--shell", shell, name]  # fmt: skip
    return ["adduser", "--system", "--group", "--no-create-home",
            "--home", NO_HOME, "--shell", shell, name]  # fmt: skip


def _lookup(name: str) -> ServiceUser | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def service_user(name: str, *, create: bool) -> ServiceUser:
    """``[server] user``, created first when missing and ``create``; a missing user with
    ``create`` false is an error (exit 1) that prints the command to create it."""
    from mailtool.net.log import log_event

    found = _lookup(name)
    if found is not None:
        return found
    command = create_command(name)
    if not create:
        raise MailtoolError(
            f"the service user {name} ([server] user) does not exist; create it with\n"
            f"  {' '.join(command)}\n"
            "or set [server] create_user = true"
        )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ServiceError(f"cannot create the service user {name}: {exc.strerror}") from None
    found = _lookup(name)
    if found is None:  # USERADD_EXISTS with no user is a real failure too
        why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise ServiceError(f"cannot create the service user {name} ({' '.join(command)}): {why}")
    if done.returncode == 0:
        log_event("server.user_created", user=name, uid=found.uid, command=" ".join(command))
    return found


def hand_over_data_dir(path: Path, user: ServiceUser | None) -> TreeFix:
    """Modes 0600/0700 on the whole data dir and, as root, ``user`` as its owner
    (files left by older versions or by root). Refuses a system directory: a data dir of
    ``/var`` or ``/home`` would give the service user the whole tree."""
    resolved = Path(path).resolve()
    if user is not None and len(resolved.parts) < 3:
        raise ServiceError(
            f"data directory {resolved} is not a directory of its own: serve would hand "
            f"everything under it to the user {user.name}; choose one such as /var/lib/mailtool"
        )
    if user is None:
        return secure_data_dir(resolved)
    return secure_data_dir(resolved, user.uid, user.gid)


def drop_to(user: ServiceUser) -> None:
    """Become ``user`` for good (real, effective and saved ids: no way back to root).

    Supplementary groups are the user's own from the group database (initgroups), not
    root's: a fresh system user has none, and an admin can let it read a key in a
    group such as Debian's ``ssl-cert`` by adding it there.
    """
    os.initgroups(user.name, user.gid)
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    if os.getresuid() != (user.uid,) * 3 or os.getresgid() != (user.gid,) * 3:
        raise ServiceError(f"could not become user {user.name}")  # never serve half-dropped


def unreachable(path: Path, *, write: bool = True) -> str | None:
    """Why the current user cannot use the directory ``path`` (read it, and write it when
    ``write``) after :func:`drop_to`, or None."""
    path = Path(path).absolute()
    for parent in reversed(path.parents):
        if not os.access(parent, os.X_OK):
            mode = oct(os.stat(parent).st_mode & 0o777)[2:]
            return f"{parent} (mode {mode}) cannot be entered"
    if not os.access(path, os.R_OK | os.X_OK | (os.W_OK if write else 0)):
        return f"{path} is not {'writable' if write else 'readable'}"
    return None


def code_places() -> list[Path]:
    """Where the rest of Python and mailtool are imported from (modules are imported
    lazily, long after the drop): the stdlib, the site-packages, mailtool's package.
    Taken before :func:`drop_to`, checked after by :func:`code_unreachable`."""
    import site

    import mailtool

    places = [os.path.dirname(os.__file__), os.path.dirname(mailtool.__file__)]
    places += [p for p in site.getsitepackages() if os.path.isdir(p)]
    return [Path(p) for p in dict.fromkeys(places)]


def code_unreachable(places: list[Path]) -> str | None:
    """Why the current user cannot read one of ``places`` (a virtualenv or a pyenv Python
    under root's 0700 home is out of the service user's reach), or None."""
    for place in places:
        why = unreachable(place, write=False)
        if why is not None:
            return why
    return None


def reach_problem(data_dir: Path, places: list[Path]) -> str | None:
    """After :func:`drop_to`: what the new user cannot use, with the fix, said for an
    error message (``places`` from :func:`code_places`, taken before the drop), or None."""
    why = unreachable(data_dir)
    if why is not None:
        return (f"the data directory {data_dir}: {why}; choose one it can reach "
                "(e.g. --data-dir /var/lib/mailtool)")  # fmt: skip
    why = code_unreachable(places)
    if why is not None:
        return (f"the Python installation mailtool runs from: {why}; install mailtool where "
                "it can read it (docs/deploy.md: a virtualenv in /opt/mailtool)")  # fmt: skip
    return None


def act_as_owner(path: Path) -> ServiceUser | None:
    """CLI as root on a data dir owned by another user: become that owner, so the
    files the command writes are the server's. Returns who we became, or None (not root,
    no data dir yet, or a root-owned one: nothing changes)."""
    if not is_root():
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_uid == ROOT_UID:
        return None
    places = code_places()
    try:
        entry = pwd.getpwuid(st.st_uid)
    except KeyError:  # an owner without a name: its ids, no supplementary groups
        user = ServiceUser(str(st.st_uid), st.st_uid, st.st_gid)
        os.setgroups([])
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
    else:
        user = ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
        drop_to(user)
    problem = reach_problem(path, places)
    if problem is not None:
        raise MailtoolError(
            f"run as root, this command acts as {user.name}, the owner of the data dir, who "
            f"cannot use {problem}"
        )
    return user
