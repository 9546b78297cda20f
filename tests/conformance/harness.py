"""The differential IMAP conformance harness: one script, two servers, one diff.

A :class:`Script` is data: the mailbox contents to seed (:class:`Message`) and a list
of :class:`Step` (which client sends which line, and what to wait for). :func:`run`
plays it against one server and returns the transcript; :func:`normalise` removes what
two correct servers may answer differently (see :func:`normalise_line`); the test
compares mailtool's normalised transcript with a private Dovecot's.

Clients are raw sockets (tests/mra/imap/wireclient.Wire): the transcript holds the
exact lines, literals inline. Each script runs as its own user on both servers, so
scripts never see each other's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tests.mra.imap.wireclient import Wire

#: seconds a step waits for its tag (or line) before the script is abandoned
STEP_TIMEOUT = 30.0
PASSWORD = "conformance-pw"
DOMAIN = "example.test"

# ------------------------------------------------------------------ script data


@dataclass(frozen=True)
class Message:
    """One seeded message (APPENDed with these flags and this INTERNALDATE)."""

    subject: str = "hello"
    body: str = "Hi there."
    sender: str = "Bob <bob@example.test>"
    to: str = "alice@example.test"
    date: str = "27-Nov-2026 10:00:00 +0000"
    flags: tuple[str, ...] = ()
    extra_headers: str = ""

    def raw(self) -> bytes:
        return (
            f"From: {self.sender}\r\nTo: {self.to}\r\nSubject: {self.subject}\r\n"
            "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{re.sub(r'[^A-Za-z0-9]+', '.', self.subject)}@example.test>\r\n"
            f"{self.extra_headers}\r\n{self.body}\r\n"
        ).encode()


#: the usual seed: three messages in INBOX, the first one seen
THREE = (
    Message("first", flags=("\\Seen",)),
    Message("second", sender="Carol <carol@example.test>"),
    Message("third", body="A longer body.\r\nWith two lines."),
)


@dataclass(frozen=True)
class Step:
    """Send ``line`` (CRLF added) as ``client``, then read until ``wait``.

    ``wait`` is ``"tag"`` (the default: the line's first word is the tag to wait
    for), another tag, ``"+"`` (a continuation request), a regex an untagged line must
    match (``re:...``), or ``None`` (read nothing now). ``line=None`` sends nothing
    (only waits). ``ordered=False`` compares this step's untagged lines as a set:
    use it where the RFC leaves their order open (SELECT's responses, for example).
    ``capture`` maps a name to a regex whose group 1, found in this step's output,
    replaces ``<<name>>`` in later lines (e.g. a UIDVALIDITY or MODSEQ to send back).
    ``name`` labels the step in DIFFERENCES (default: its 1-based number).
    """

    client: str
    line: str | bytes | None
    wait: str | None = "tag"
    ordered: bool = True
    capture: dict[str, str] = field(default_factory=dict)
    name: str = ""


def S(client: str, line: str | bytes | None, **kw: object) -> Step:
    """Shorthand for :class:`Step`."""
    return Step(client, line, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Script:
    """A scripted session. ``seed`` maps mailbox -> messages (created if not INBOX);
    ``subscribe`` names mailboxes to subscribe before the script; clients named in
    ``raw`` are not logged in (their greeting is in the transcript)."""

    name: str
    steps: Sequence[Step]
    seed: dict[str, Sequence[Message]] = field(default_factory=lambda: {"INBOX": THREE})
    raw: tuple[str, ...] = ()
    doc: str = ""

    @property
    def user(self) -> str:
        return f"{self.name}@{DOMAIN}"


# ------------------------------------------------------------------ running


class Session:
    """The clients of one script run against one server."""

    def __init__(self, port: int, user: str, raw: Iterable[str]) -> None:
        self.port, self.user, self.raw = port, user, set(raw)
        self.clients: dict[str, Wire | None] = {}
        self.vars: dict[str, str] = {}

    def client(self, name: str, out: list[str]) -> Wire | None:
        if name not in self.clients:
            wire = Wire(self.port, timeout=STEP_TIMEOUT)
            self.clients[name] = wire
            if name in self.raw:
                out.append(f"{name}< {_show(wire.greeting)}")
            else:
                reply = wire.cmd(f'LOGIN "{self.user}" "{PASSWORD}"')
                assert reply.status == "OK", (name, reply)
        return self.clients[name]

    def close(self) -> None:
        for wire in self.clients.values():
            if wire is not None:
                wire.close()


def seed(port: int, script: Script) -> None:
    """APPEND the script's messages (and CREATE/SUBSCRIBE its mailboxes)."""
    wire = Wire(port, timeout=STEP_TIMEOUT)
    try:
        assert wire.login(script.user, PASSWORD).status == "OK"
        wire.cmd("UNSUBSCRIBE INBOX")  # subscribed on mailtool, not on Dovecot
        for mailbox, messages in script.seed.items():
            if mailbox.upper() != "INBOX":
                wire.cmd(f'CREATE "{mailbox}"')
                # mailtool subscribes what CREATE makes, Dovecot does not (RFC 9051 §6.3.4
                # says neither): scripts start with the same subscriptions
                wire.cmd(f'UNSUBSCRIBE "{mailbox}"')
            for msg in messages:
                data = msg.raw()
                flags = " ".join(msg.flags)
                tag = wire.tag()
                wire.send(
                    f'{tag} APPEND "{mailbox}" ({flags}) "{msg.date}" {{{len(data)}+}}\r\n'.encode()
                    + data
                    + b"\r\n"
                )
                reply = wire.collect(tag)
                assert reply.status == "OK", reply
        wire.cmd("LOGOUT")
    finally:
        wire.close()


def run(port: int, script: Script) -> list[list[str]]:
    """Play ``script`` against the server on ``port``: one list of lines per step."""
    session = Session(port, script.user, script.raw)
    transcript: list[list[str]] = []
    try:
        for step in script.steps:
            out: list[str] = []
            transcript.append(out)
            if not _play(session, step, out):
                break
    finally:
        session.close()
    return transcript


def _play(session: Session, step: Step, out: list[str]) -> bool:
    """One step; False when the script cannot go on (timeout)."""
    wire = session.client(step.client, out)
    line = step.line
    if line is not None:  # as written (<<name>> kept: captured values differ)
        out.append(f"{step.client}> {_show(line if isinstance(line, bytes) else line.encode())}")
    if isinstance(line, str):
        for name, value in session.vars.items():
            line = line.replace(f"<<{name}>>", value)
        line = line.encode()
    if wire is None:
        out.append(f"{step.client}< <closed>")
        return True
    if line is not None:
        try:
            wire.send(line + b"\r\n")
        except OSError:
            out.append(f"{step.client}< <closed>")
            session.clients[step.client] = None
            return True
    done = _waiter(step, line)
    if done is None:
        return True
    try:
        while True:
            got = wire.line()
            text = _show(got)
            out.append(f"{step.client}< {text}")
            for name, regex in step.capture.items():
                if m := re.search(regex, text):
                    session.vars[name] = m.group(1)
            if done(text):
                return True
    except TimeoutError:
        out.append(f"{step.client}< <timeout>")
        return False
    except (ConnectionError, OSError):
        out.append(f"{step.client}< <closed>")
        session.clients[step.client] = None
        return True


def _waiter(step: Step, line: bytes | None) -> Callable[[str], bool] | None:
    wait = step.wait
    if wait is None:
        return None
    if wait == "tag":
        assert line, f"step {step} waits for the tag of no line"
        wait = line.split(b" ", 1)[0].decode()
    if wait == "+":
        return lambda text: text.startswith("+")
    if wait.startswith("re:"):
        regex = re.compile(wait[3:])
        return lambda text: bool(regex.search(text))
    prefix = wait + " "
    return lambda text: text.startswith(prefix)


def _show(data: bytes) -> str:
    """A line as text: CRLF removed at the end, kept visible inside (literals)."""
    text = data.decode("utf-8", "backslashreplace")
    if text.endswith("\r\n"):
        text = text[:-2]
    return text.replace("\r\n", "\\r\\n")


# ------------------------------------------------------------------ normalising

#: capabilities only one of the two servers advertises, each with why (removed
#: from every CAPABILITY list before comparing)
CAPABILITY_ONLY: dict[str, str] = {
    "AUTH=LOGIN": "Dovecot offers the obsolete LOGIN SASL mechanism; we offer PLAIN/SCRAM",
    "AUTH=PLAIN": "not compared: SASL mechanisms are configuration",
    "AUTH=SCRAM-SHA-256": "not compared: SASL mechanisms are configuration",
    "LOGIN-REFERRALS": "RFC 2221: Dovecot's proxy feature; we do not refer logins",
    "I18NLEVEL=1": "RFC 5255: Dovecot's comparator; we do not claim I18NLEVEL",
    "CONTEXT=SEARCH": "RFC 5267: not implemented here",
    "SNIPPET=FUZZY": "draft/RFC 8970 PREVIEW predecessor: Dovecot only",
    "PREVIEW=FUZZY": "RFC 8970: not implemented here",
    "PREVIEW": "RFC 8970: not implemented here",
    "SEARCH=FUZZY": "RFC 6203: not implemented here",
    "MULTIAPPEND": "RFC 3502: not implemented here",
    "CATENATE": "RFC 4469: not implemented here",
    "URL-PARTIAL": "RFC 5550: not implemented here",
    "URLAUTH": "RFC 4467: not implemented here",
    "URLAUTH=BINARY": "RFC 5524: not implemented here",
    "SAVEDATE": "draft: Dovecot only",
    "WITHIN": "RFC 5032: not implemented here",
    "XLIST": "pre-SPECIAL-USE Gmail command: not implemented here",
    "STARTTLS": "test config: mailtool's plain port offers STARTTLS, this Dovecot has ssl=no",
    "LOGINDISABLED": "configuration",
    "SORT=DISPLAY": "RFC 5957: compared by SORT scripts, not by the capability list",
    "THREAD=REFS": "Dovecot's non-standard THREAD algorithm",
    "THREAD=ORDEREDSUBJECT": "not compared: THREAD algorithms compared by THREAD scripts",
    "THREAD=REFERENCES": "not compared: THREAD algorithms compared by THREAD scripts",
    "ESORT": "RFC 5267: not implemented here",
    "IMAP4REV2": "RFC 9051: Dovecot 2.3 is IMAP4rev1 only",
    "APPENDLIMIT=52428800": "RFC 7889: Dovecot sets no limit by default",
    "CREATE-SPECIAL-USE": "RFC 6154 §3: Dovecot 2.3 does not offer it",
    "QUOTA=RES-STORAGE": "RFC 9208: Dovecot 2.3 implements RFC 2087 QUOTA only",
    "QUOTA=RES-MESSAGE": "RFC 9208: Dovecot 2.3 implements RFC 2087 QUOTA only",
    "UTF8=ACCEPT": "RFC 6855: Dovecot 2.3 does not offer it",
    "METADATA-SERVER": "RFC 5464 §1: METADATA implies it; Dovecot lists METADATA only",
}

_STATUS = re.compile(r"^(\S+) (OK|NO|BAD|BYE|PREAUTH)(?: (\[[^\]]*\]))?")
_ADVISORY = re.compile(r"\[(NONEXISTENT|CANNOT|ALREADYEXISTS)\]$")
_DATE = re.compile(r'"\s?\d{1,2}-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"')
_MODSEQ = re.compile(r"(HIGHESTMODSEQ |MODSEQ \(|\(MODSEQ |MODSEQ )(\d+)", re.IGNORECASE)
_UIDVALIDITY = re.compile(r"(UIDVALIDITY |APPENDUID |COPYUID )(\d+)", re.IGNORECASE)


def normalise_line(line: str) -> str:
    """Remove from one line what may differ between two correct servers.

    - the human text after OK/NO/BAD/BYE/PREAUTH and after ``+`` (RFC 9051 §7.1);
    - UIDVALIDITY values (also in APPENDUID/COPYUID: RFC 4315 §3), dates;
    - the order of capabilities, of flags in a list, of FETCH items (RFC 9051 §7.5.2
      fixes none of them); capabilities listed in :data:`CAPABILITY_ONLY`;
    - the contents of ``* ID`` (server name and version, RFC 2971).
    MODSEQ numbers are made ranks by :func:`normalise` (only their order is defined).
    """
    direction, _, text = line.partition(" ")
    if not direction.endswith("<"):
        return line
    if text.startswith("+"):
        return f"{direction} +"
    if m := _STATUS.match(text):
        code = m.group(3)
        if m.group(2) == "NO" and code and _ADVISORY.match(code):
            code = None  # RFC 5530 §3: codes a server SHOULD, not MUST, send; Dovecot often not
        text = " ".join(p for p in (m.group(1), m.group(2), code) if p)
    text = _UIDVALIDITY.sub(r"\1<uidvalidity>", text)
    text = _DATE.sub('"<date>"', text)
    if text.startswith("* ID "):
        text = "* ID <id>"
    text = re.sub(r"(CAPABILITY )([^\]]*)", lambda m: m.group(1) + _caps(m.group(2)), text)
    text = re.sub(r"(FLAGS \()([^)]*)", lambda m: m.group(1) + _sorted(m.group(2)), text)
    text = re.sub(r"^(\* ENABLED )(.*)", lambda m: m.group(1) + _sorted(m.group(2)), text)
    if m := re.match(r"^(\* STATUS .* \()(.*)\)$", text):  # RFC 9051 §7.3.4: any order
        pairs = re.findall(r"\S+ \S+", m.group(2))
        text = m.group(1) + " ".join(sorted(pairs)) + ")"
    if m := re.match(r"^(\* \d+ FETCH \()(.*)\)$", text):
        text = m.group(1) + _fetch_items(m.group(2)) + ")"
        # header field names are case-insensitive (RFC 5322 §1.2.2); Dovecot upper-cases
        text = re.sub(r"HEADER\.FIELDS(?:\.NOT)? \([^)]*\)", lambda h: h.group(0).upper(), text)
    return f"{direction} {text}"


def _caps(text: str) -> str:
    return " ".join(sorted(c for c in text.split() if c.upper() not in CAPABILITY_ONLY))


def _sorted(text: str) -> str:
    return " ".join(sorted(text.split(), key=str.upper))


def _fetch_items(text: str) -> str:
    """FETCH items ``NAME value`` sorted by name (values with literals kept whole)."""
    items: list[str] = []
    i = 0
    while i < len(text):
        m = re.compile(r"\s*([^\s(\[]+(?:\[[^\]]*\](?:<\d+>)?)?) ").match(text, i)
        if not m:
            return text
        j = _value_end(text, m.end())
        if j < 0:
            return text
        items.append(text[m.start(1) : j])
        i = j
    return " ".join(sorted(items, key=lambda s: s.split(" ", 1)[0].upper()))


def _value_end(text: str, i: int) -> int:
    """The end of the IMAP value starting at ``text[i]`` (-1 when unparsable)."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif m := re.compile(r"~?\{(\d+)\+?\}\\r\\n").match(text, i):
            i = m.end() + _shown_length(text, m.end(), int(m.group(1)))
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
            i += 1
        elif ch == " " and depth == 0:
            return i
        else:
            i += 1
    return i if depth == 0 else -1


def _shown_length(text: str, start: int, size: int) -> int:
    """How many characters of ``text`` (CRLF shown as ``\\r\\n``) ``size`` bytes take."""
    i, n = start, 0
    while n < size and i < len(text):
        if text.startswith("\\r\\n", i):
            i, n = i + 4, n + 2
        else:
            n += len(text[i].encode("utf-8", "backslashreplace"))
            i += 1
    return i - start


def _expunges(lines: list[str]) -> list[str]:
    """A run of ``* n EXPUNGE`` as the set of original positions it removed.

    ``* 3 EXPUNGE * 3 EXPUNGE`` and ``* 4 EXPUNGE * 3 EXPUNGE`` both remove the
    messages that were 3 and 4 (RFC 9051 §7.5.1): two correct servers may choose
    either order.
    """
    out: list[str] = []
    run: list[int] = []
    prefix = ""
    for line in [*lines, ""]:
        m = re.fullmatch(r"(\S+< )\* (\d+) EXPUNGE", line)
        if m:
            prefix = m.group(1)
            run.append(int(m.group(2)))
            continue
        if run:
            positions = list(range(1, max(run) + len(run) + 1))
            removed = sorted(positions.pop(n - 1) for n in run)
            out.append(f"{prefix}* EXPUNGE (original {' '.join(map(str, removed))})")
            run = []
        if line:
            out.append(line)
    return out


def normalise(transcript: list[list[str]], steps: Sequence[Step]) -> list[list[str]]:
    """Every line normalised, EXPUNGE runs folded, unordered steps sorted, and MODSEQ
    values replaced by ``<modseq>`` in what the servers send.

    RFC 7162 §3.1.1 only asks mod-sequences to grow; how many a change takes is the
    server's (Dovecot gives one APPEND batch a single MODSEQ, mailtool one per message),
    so neither the numbers nor their ranks compare. Scripts send values they captured.
    """

    def modseq(m: re.Match[str]) -> str:
        return m.group(1) + "<modseq>"

    out: list[list[str]] = []
    condstore: set[str] = set()
    qresync: set[str] = set()
    for lines, step in zip(transcript, steps, strict=False):
        lines = _select_modseq(lines, step, condstore)
        sent = step.line.decode() if isinstance(step.line, bytes) else step.line or ""
        if re.search(r"ENABLE .*QRESYNC", sent, re.IGNORECASE):
            qresync.add(step.client)
        lines = _unasked_uid(lines, step, qresync)
        lines = _list_attributes(lines, sent)
        lines = [normalise_line(line) for line in lines]
        lines = [line if _sent(line) else _MODSEQ.sub(modseq, line) for line in lines]
        lines = _expunges(lines)
        if not step.ordered:
            untagged = [line for line in lines if line.split(" ", 2)[1:2] == ["*"]]
            rest = [line for line in lines if line not in untagged]
            lines = rest[:-1] + sorted(untagged) + rest[-1:]
        out.append(lines)
    return out


_CONDSTORE_ENABLING = re.compile(
    r"ENABLE .*(CONDSTORE|QRESYNC)|\(CONDSTORE|\(QRESYNC|MODSEQ|CHANGEDSINCE", re.IGNORECASE
)


_CHILDREN = re.compile(r" ?\\Has(No)?Children\b", re.IGNORECASE)
#: \Marked/\Unmarked (RFC 3501 §7.2.2) are optional hints from the server's own idea of
#: "new since last looked at" (Dovecot: directory times), so they come and go between runs
_MARKS = re.compile(r"\\(Un)?Marked\s*", re.I)
_USES = re.compile(r" ?\\(All|Archive|Drafts|Flagged|Junk|Sent|Trash)\b", re.IGNORECASE)


def _list_attributes(lines: list[str], sent: str) -> list[str]:
    """Drop LIST attributes a server may add unasked.

    \\HasChildren/\\HasNoChildren without RETURN (CHILDREN) (RFC 5258 §4: the server
    MAY send them; mailtool always does, Dovecot not with SUBSCRIBED) and special-use
    attributes without SPECIAL-USE asked (RFC 6154 §2: MAY; mailtool always does), and
    \\Marked/\\Unmarked always (see ``_MARKS``).
    """
    asked = sent.upper()
    out = []
    for line in lines:
        if re.match(r"^\S+< \* (LIST|LSUB) \(", line):
            head, _, rest = line.partition(") ")
            if "CHILDREN" not in asked:
                head = _CHILDREN.sub("", head)
            if "SPECIAL-USE" not in asked:
                head = _USES.sub("", head)
            head = _MARKS.sub("", head)
            name, _, attrs = head.partition("(")
            line = f"{name}({_sorted(attrs)}) {rest}"
        out.append(line)
    return out


def _sent(line: str) -> bool:
    return line.split(" ", 1)[0].endswith(">")


def _select_modseq(lines: list[str], step: Step, condstore: set[str]) -> list[str]:
    """Drop ``* OK [HIGHESTMODSEQ n]`` from a SELECT/EXAMINE before CONDSTORE is enabled.

    RFC 7162 §3.1.2.1: a server that stores mod-sequences persistently sends it with
    every successful SELECT/EXAMINE (mailtool does); Dovecot sends it only once the
    client enabled CONDSTORE (RFC 7162 §3.1), which the same section also allows.
    """
    sent = step.line.decode() if isinstance(step.line, bytes) else step.line or ""
    if _CONDSTORE_ENABLING.search(sent):
        condstore.add(step.client)
    if step.client in condstore or not re.match(r"\S+ (SELECT|EXAMINE) ", sent, re.I):
        return lines
    return [line for line in lines if "< * OK [HIGHESTMODSEQ " not in line]


def _unasked_uid(lines: list[str], step: Step, qresync: set[str]) -> list[str]:
    """Drop a ``UID n`` FETCH item the client did not ask for.

    RFC 9051 §7.5.2 lets a server add FETCH items; mailtool always sends UID with FLAGS
    (a STORE's or another session's change), Dovecot only when asked (UID FETCH/STORE,
    the UID item) or under QRESYNC (RFC 7162 §3.2.4) - not after a CONDSTORE-enabling
    command, though RFC 7162 §3.1 asks for it there: tests/mra/imap checks ours.
    """
    sent = step.line.decode() if isinstance(step.line, bytes) else step.line or ""
    if step.client in qresync or re.search(r"\bUID\b", sent, re.IGNORECASE):
        return lines
    out = []
    for line in lines:
        if m := re.match(r"^(\S+< \* \d+ FETCH \()(.*)\)$", line):
            items = re.sub(r"^UID \d+ ?| UID \d+(?= |$)", "", m.group(2))
            line = f"{m.group(1)}{items})"
        out.append(line)
    return out


def step_label(script: Script, index: int) -> str:
    step = script.steps[index]
    return f"{script.name}#{step.name or index + 1}"
