"""Run a Sieve script on a message through Pigeonhole's ``sieve-test`` and through
mailtool, and reduce both to the same comparable set of actions.

``sieve-test`` (Debian's dovecot-sieve) compiles the script, runs it on the
message and prints the actions it would take ("Performed actions:" and
"Implicit keep:"); nothing is delivered. It needs a dovecot.conf: a mail user
(it refuses to run mail access as root, so as root it drops to ``nobody``,
which must be able to read the files, hence the 0755 directory) and a mail
location for ``mailboxexists``. One process per pair takes ~15 ms.

An :class:`Outcome` is a frozenset of tuples:
``("store", folder, flags)`` (keep is a store into INBOX), ``("redirect", address)``,
``("reject",)``, ``("discard",)`` (only when nothing else happens) and
``("vacation",)`` (the script asked for a reply: sieve-test does not execute, so the
checks that decide whether one is really sent are not compared); ``None`` = the
script does not compile. Scripts to include come from ``includes/personal`` and
``includes/global`` (the same files for both sides).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from mailtool.mda.sieve import (
    Discard,
    Envelope,
    FileInto,
    Interpreter,
    Keep,
    Redirect,
    Reject,
    SieveRuntimeError,
    SieveSyntaxError,
    VacationRequest,
    parse,
)
from mailtool.mda.sieve.ext_include import INCLUDES, directory_loader

SIEVE_TEST = shutil.which("sieve-test")
_UNKNOWN_CAPABILITY = re.compile(r"unknown Sieve capability `([^']+)'")
Outcome = frozenset[tuple[str, ...]] | None

_CONF = """\
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
first_valid_gid = 0
base_dir = {root}/run
log_path = /dev/stderr
ssl = no
protocols =
mail_location = maildir:{root}/mail
plugin {{
  sieve = file:{root}/personal;active={root}/active.sieve
  sieve_global = {root}/global
  # off by default in Pigeonhole, on in mailtool
  sieve_extensions = +editheader +spamtest +spamtestplus +virustest
}}
"""


def _store(folder: str, flags: frozenset[str] | list[str]) -> tuple[str, ...]:
    name = "INBOX" if folder.upper() == "INBOX" else folder
    # Pigeonhole prints system flags in lower case ("\\seen")
    return ("store", name, " ".join(sorted(f.lower() for f in flags)))


def _finish(actions: set[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    # "discard" is what remains when nothing is delivered, however it came about
    if any(a[0] in ("store", "redirect", "reject") for a in actions):
        actions.discard(("discard",))
    else:
        actions.add(("discard",))
    return frozenset(actions)


class Pigeonhole:
    """A work directory with a dovecot.conf; :meth:`run` runs one pair."""

    def __init__(self, includes: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailtool-pigeonhole-"))
        os.chmod(self.root, 0o755)
        uid = os.getuid() or 65534  # root: run as nobody (sieve-test refuses uid 0)
        gid = os.getgid() if os.getuid() else 65534
        (self.root / "run").mkdir()
        (self.root / "mail").mkdir()
        for sub in ("run", "mail"):
            os.chmod(self.root / sub, 0o777)
        for location in ("personal", "global"):
            shutil.copytree(includes / location, self.root / location)
            os.chmod(self.root / location, 0o777)  # nobody writes compiled .svbin files
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(_CONF.format(uid=uid, gid=gid, root=self.root))
        self.count = 0

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, script: str, message: bytes, sender: str, recipient: str) -> Outcome | str:
        """The outcome, or the capability Pigeonhole lacks (a string) when that is why
        the script did not compile."""
        assert SIEVE_TEST is not None
        self.count += 1
        script_path = self.root / f"s{self.count}.sieve"
        mail_path = self.root / f"m{self.count}.eml"
        script_path.write_text(script)
        mail_path.write_bytes(message)
        for path in (script_path, mail_path):
            os.chmod(path, 0o644)
        argv = [SIEVE_TEST, "-c", str(self.conf), "-r", recipient, "-a", recipient]
        argv += ["-f", sender or "<>", str(script_path), str(mail_path)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if not _reported(proc):
            # seen once in CI on a loaded machine: no report at all, which would read as
            # "discard"; one more run tells a passing hiccup from a real failure
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        script_path.unlink()
        mail_path.unlink()
        if "failed to compile" in proc.stderr:
            missing = _UNKNOWN_CAPABILITY.search(proc.stderr)
            return missing.group(1) if missing else None
        if "final result: failed" in proc.stderr:
            return frozenset({_store("INBOX", [])})  # a runtime error: the implicit keep
        if not _reported(proc):
            raise AssertionError(f"sieve-test gave no report (exit {proc.returncode}): "
                                 f"{proc.stderr.strip()!r} {proc.stdout.strip()!r}")
        return parse_sieve_test(proc.stdout)


def _reported(proc: subprocess.CompletedProcess[str]) -> bool:
    """sieve-test ran to the end: a compile failure, a runtime failure, or a report."""
    if "failed to compile" in proc.stderr or "final result: failed" in proc.stderr:
        return True
    return "final result: success" in proc.stderr and "Performed actions:" in proc.stdout


def parse_sieve_test(text: str) -> frozenset[tuple[str, ...]]:
    """The actions of sieve-test's report (performed actions and implicit keep)."""
    actions: set[tuple[str, ...]] = set()
    current: list[str] | None = None  # the store being read, for its "+ add IMAP flags"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("* store message in folder: "):
            # the name as printed, trailing spaces included ("${0}" may end in one)
            current = [line.lstrip().split(": ", 1)[1], ""]
            actions.add(_store(current[0], []))
        elif stripped.startswith("+ add IMAP flags: ") and current is not None:
            actions.discard(_store(current[0], current[1].split()))
            current[1] = stripped.split(": ", 1)[1]
            actions.add(_store(current[0], current[1].split()))
        elif stripped.startswith("* redirect message to: "):
            actions.add(("redirect", stripped.split(": ", 1)[1].strip("<>").lower()))
            current = None
        elif stripped.startswith("* reject message"):
            actions.add(("reject",))
            current = None
        elif stripped == "* discard":
            actions.add(("discard",))
            current = None
        elif stripped.startswith("* send vacation message"):
            actions.add(("vacation",))
            current = None
        elif stripped.startswith("* "):
            raise ValueError(f"sieve-test printed an action we do not know: {stripped!r}")
    return _finish(actions)


def mailtool_outcome(
    script: str, message: bytes, sender: str, recipient: str, includes: Path
) -> Outcome:
    """The same reduction of what our interpreter does (the MDA's path: errors keep)."""
    try:
        parsed = parse(script)
    except SieveSyntaxError:
        return None
    personal = includes / "personal"
    loader = directory_loader(lambda name: _read(personal / f"{name}.sieve"), includes / "global")
    interp = Interpreter(Envelope(sender, recipient), message, user_addresses=[recipient],
                         services={INCLUDES: loader})  # fmt: skip
    try:
        interp.execute(parsed)
    except SieveRuntimeError:
        pass  # its actions are undone; the implicit keep stands (RFC 5228 §2.10.6)
    actions: set[tuple[str, ...]] = set()
    if any(isinstance(a, VacationRequest) for a in interp.actions):
        actions.add(("vacation",))
    for action in interp.finish():
        if isinstance(action, Keep | FileInto):
            actions.add(_store(action.folder, action.flags))
        elif isinstance(action, Redirect):
            actions.add(("redirect", action.address.lower()))
        elif isinstance(action, Reject):
            actions.add(("reject",))
        elif isinstance(action, Discard):
            actions.add(("discard",))
    return _finish(actions)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
