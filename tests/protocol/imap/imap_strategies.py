"""Hypothesis strategies for IMAP commands and responses (shared by the tests)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap import responses as r
from mailtool.protocol.imap.fetch import MACROS, SIMPLE, FetchAttr, Section
from mailtool.protocol.imap.search import (
    DATE_ARG,
    FLAG_ARG,
    NO_ARG,
    NUMBER_ARG,
    STRING_ARG,
    ModSeqCriterion,
    SearchKey,
)
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.status import ResponseCode, StatusResponse

tags = st.from_regex(r"[A-Za-z0-9.]{1,8}", fullmatch=True)
atoms = st.from_regex(r"[A-Z][A-Z0-9-]{0,8}", fullmatch=True)
keywords = st.from_regex(r"\$?[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
system_flags = st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"])
flags = st.tuples() | st.lists(system_flags | keywords, max_size=4).map(tuple)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
line_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n"), max_size=20
)
mailboxes = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=15,
).filter(lambda s: s.upper() != "INBOX") | st.just("INBOX")
numbers = st.integers(1, 2**32 - 1)
modseqs = st.integers(1, 2**63 - 1)
bounds = st.none() | numbers
seqsets = st.lists(st.tuples(bounds, bounds), min_size=1, max_size=4).map(
    lambda rs: SequenceSet(tuple(rs))
)
uidsets = st.lists(st.tuples(numbers, numbers), min_size=1, max_size=4).map(
    lambda rs: SequenceSet(tuple(rs))
)
dates = st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31))
datetimes = st.builds(
    lambda d, h, m, s, off: dt.datetime(
        d.year, d.month, d.day, h, m, s, tzinfo=dt.timezone(dt.timedelta(minutes=off))
    ),
    dates,
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(-12 * 60, 14 * 60),
)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True)


def _simple_key(name: str) -> st.SearchStrategy[SearchKey]:
    if name in NO_ARG:
        return st.just(SearchKey(name))
    if name in STRING_ARG:
        return text.map(lambda t: SearchKey(name, t))
    if name in FLAG_ARG:
        return keywords.map(lambda t: SearchKey(name, t))
    if name in DATE_ARG:
        return dates.map(lambda d: SearchKey(name, d))
    return st.integers(0, 2**40).map(lambda n: SearchKey(name, n))


leaf_keys = (
    st.sampled_from(sorted(NO_ARG | STRING_ARG | FLAG_ARG | DATE_ARG | NUMBER_ARG)).flatmap(
        _simple_key
    )
    | st.tuples(header_names, text).map(lambda a: SearchKey("HEADER", a))
    | seqsets.map(lambda s: SearchKey("UID", s))
    | seqsets.map(lambda s: SearchKey("SEQ", s))
    | modseqs.map(lambda n: SearchKey("MODSEQ", ModSeqCriterion(n)))
    | modseqs.map(lambda n: SearchKey("MODSEQ", ModSeqCriterion(n, "/flags/\\draft", "all")))
)
search_keys = st.recursive(
    leaf_keys,
    lambda inner: (
        inner.map(lambda k: SearchKey("NOT", k))
        | st.tuples(inner, inner).map(lambda p: SearchKey("OR", p))
        | st.lists(inner, min_size=1, max_size=3).map(lambda ks: SearchKey("AND", tuple(ks)))
    ),
    max_leaves=8,
)

parts = st.lists(st.integers(1, 20), max_size=3).map(tuple)
sections = st.one_of(
    st.builds(Section, parts),
    st.builds(Section, st.just(()), st.sampled_from(["HEADER", "TEXT"])),
    st.builds(Section, parts.filter(bool), st.sampled_from(["HEADER", "TEXT", "MIME"])),
    st.builds(
        Section,
        parts,
        st.sampled_from(["HEADER.FIELDS", "HEADER.FIELDS.NOT"]),
        st.lists(header_names, min_size=1, max_size=3).map(tuple),
    ),
)
partials = st.none() | st.tuples(st.integers(0, 10**6), st.integers(1, 10**6))
fetch_attrs = st.one_of(
    st.sampled_from(sorted(SIMPLE)).map(FetchAttr),
    st.builds(FetchAttr, st.just("BODY"), sections, partials, st.booleans()),
    st.builds(FetchAttr, st.just("BINARY"), st.builds(Section, parts), partials, st.booleans()),
    st.builds(FetchAttr, st.just("BINARY.SIZE"), st.builds(Section, parts)),
)


def _fetch(tag, seqs, atts, macro, changed, uid, vanished):  # type: ignore[no-untyped-def]
    if macro:
        atts = tuple(FetchAttr(n) for n in MACROS[macro])
    vanished = vanished and uid and changed is not None
    return c.Fetch(tag, seqs, atts, macro, changed, vanished, uid)


qresync = st.builds(
    c.Qresync,
    numbers,
    modseqs,
    st.none() | uidsets,
    st.none() | st.tuples(uidsets, uidsets),
)

commands = st.one_of(
    st.builds(c.Simple, tags, st.sampled_from(sorted(c.SIMPLE_COMMANDS))),
    st.builds(c.Login, tags, text, text),
    st.builds(c.Authenticate, tags, atoms, st.none() | st.binary(max_size=30)),
    st.builds(c.Enable, tags, st.lists(atoms, min_size=1, max_size=3).map(tuple)),
    st.builds(c.Select, tags, mailboxes, st.booleans(), st.booleans(), st.none() | qresync),
    st.builds(c.Create, tags, mailboxes, flags),
    st.builds(c.MailboxCommand, tags, st.sampled_from(sorted(c.MAILBOX_COMMANDS)), mailboxes),
    st.builds(c.Rename, tags, mailboxes, mailboxes),
    st.builds(
        c.List,
        tags,
        mailboxes | st.just(""),
        st.lists(mailboxes | st.sampled_from(["*", "%", "a/%"]), min_size=1, max_size=3).map(tuple),
        st.lists(st.sampled_from(["SUBSCRIBED", "REMOTE", "SPECIAL-USE"]), max_size=2).map(tuple),
        st.lists(st.sampled_from(["CHILDREN", "SUBSCRIBED", "SPECIAL-USE"]), max_size=2).map(tuple),
        st.none() | st.lists(st.sampled_from(["MESSAGES", "UNSEEN"]), min_size=1).map(tuple),
        st.just(False),
        st.just(True),
    ),
    st.builds(c.List, tags, mailboxes, st.tuples(mailboxes), lsub=st.just(True)),
    st.builds(
        c.Status,
        tags,
        mailboxes,
        st.lists(st.sampled_from(["MESSAGES", "UIDNEXT", "UNSEEN", "SIZE"]), min_size=1).map(tuple),
    ),
    st.builds(
        c.Append,
        tags,
        mailboxes,
        flags,
        st.none() | datetimes,
        st.binary(max_size=50),
        st.booleans(),
    ),
    st.builds(c.Expunge, tags, st.none() | uidsets),
    st.builds(
        c.Search,
        tags,
        st.lists(search_keys, min_size=1, max_size=3).map(tuple),
        st.none() | st.sampled_from(["UTF-8", "US-ASCII"]),
        st.none()
        | st.lists(st.sampled_from(["MIN", "MAX", "ALL", "COUNT", "SAVE"]), max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(
        _fetch,
        tags,
        seqsets,
        st.lists(fetch_attrs, min_size=1, max_size=4).map(tuple),
        st.none() | st.sampled_from(sorted(MACROS)),
        st.none() | modseqs,
        st.booleans(),
        st.booleans(),
    ),
    st.builds(
        c.Store,
        tags,
        seqsets,
        st.sampled_from(["", "+", "-"]),
        st.booleans(),
        flags,
        st.none() | st.integers(0, 2**63 - 1),
        st.booleans(),
    ),
    st.builds(c.Copy, tags, seqsets, mailboxes, st.booleans(), st.booleans()),
    st.builds(
        c.Id, tags, st.none() | st.lists(st.tuples(text, st.none() | text), max_size=3).map(tuple)
    ),
    st.builds(c.GetQuota, tags, text),
    st.builds(
        c.SetQuota,
        tags,
        text,
        st.lists(st.tuples(st.sampled_from(["STORAGE", "MESSAGE"]), st.integers(0, 10**9))).map(
            tuple
        ),
    ),
)

# -- responses -------------------------------------------------------------------

codes = st.one_of(
    st.sampled_from(
        [
            "ALERT",
            "PARSE",
            "READ-ONLY",
            "READ-WRITE",
            "TRYCREATE",
            "NOMODSEQ",
            "CLOSED",
            "TOOBIG",
            "AUTHENTICATIONFAILED",
            "NONEXISTENT",
            "ALREADYEXISTS",
            "INUSE",
            "OVERQUOTA",
            "LIMIT",
            "CANNOT",
        ]
    ).map(ResponseCode),
    st.builds(
        ResponseCode,
        st.sampled_from(["UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"]),
        numbers,
    ),
    st.builds(ResponseCode, st.just("PERMANENTFLAGS"), flags),
    st.builds(ResponseCode, st.just("BADCHARSET"), st.lists(atoms, max_size=2).map(tuple)),
    st.builds(
        ResponseCode, st.just("CAPABILITY"), st.lists(atoms, min_size=1, max_size=3).map(tuple)
    ),
    st.builds(ResponseCode, st.just("APPENDUID"), st.tuples(numbers, uidsets)),
    st.builds(ResponseCode, st.just("COPYUID"), st.tuples(numbers, uidsets, uidsets)),
    st.builds(ResponseCode, st.just("MODIFIED"), uidsets),
)
statuses = st.builds(
    StatusResponse,
    st.none() | tags,
    st.sampled_from(["OK", "NO", "BAD"]),
    line_text.map(str.strip),
    st.none() | codes,
) | st.builds(
    StatusResponse,
    st.none(),
    st.sampled_from(["BYE", "PREAUTH"]),
    line_text.map(str.strip),
    st.none() | codes,
)
generic_values = st.recursive(
    st.none() | st.integers(0, 2**40) | text,
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=15,
)
fetch_items = st.one_of(
    st.tuples(st.just(FetchAttr("FLAGS")), flags),
    st.tuples(st.sampled_from([FetchAttr("UID"), FetchAttr("RFC822.SIZE")]), numbers),
    st.tuples(st.just(FetchAttr("MODSEQ")), modseqs),
    st.tuples(st.just(FetchAttr("INTERNALDATE")), datetimes),
    st.tuples(
        st.sampled_from([FetchAttr("ENVELOPE"), FetchAttr("BODYSTRUCTURE"), FetchAttr("BODY")]),
        generic_values,
    ),
    st.tuples(
        fetch_attrs.filter(lambda a: a.section is not None and a.name != "BINARY.SIZE").map(
            FetchAttr.response_key
        ),
        st.none() | st.binary(max_size=40),
    ),
    st.tuples(st.just(FetchAttr("BINARY.SIZE", Section((1,)))), numbers),
    st.tuples(st.just(FetchAttr("RFC822.HEADER")), st.none() | st.binary(max_size=40)),
)
delims = st.none() | st.sampled_from(["/", ".", "\\", '"'])
responses = st.one_of(
    statuses,
    st.builds(r.ContinuationRequest, line_text),
    st.builds(r.Capability, st.lists(atoms, min_size=1, max_size=4).map(tuple)),
    st.builds(r.Enabled, st.lists(atoms, max_size=3).map(tuple)),
    st.builds(
        r.ListItem,
        flags,
        delims,
        mailboxes,
        st.lists(
            st.tuples(
                st.sampled_from(["CHILDINFO", "OLDNAME"]),
                st.lists(text, min_size=1, max_size=2),
            ),
            max_size=2,
        ).map(tuple),
        st.booleans(),
    ),
    st.builds(
        r.MailboxStatus,
        mailboxes,
        st.lists(st.tuples(st.sampled_from(["MESSAGES", "UIDNEXT"]), numbers)).map(tuple),
    ),
    st.builds(r.SearchResult, st.lists(numbers, max_size=5).map(tuple), st.none() | modseqs),
    st.builds(
        r.ESearch,
        st.none() | tags,
        st.booleans(),
        st.lists(
            st.tuples(st.sampled_from(["MIN", "MAX", "COUNT", "MODSEQ"]), numbers)
            | st.tuples(st.just("ALL"), uidsets),
            max_size=4,
        ).map(tuple),
    ),
    st.builds(r.Flags, flags),
    st.builds(r.MessageNumber, numbers, st.sampled_from(["EXISTS", "RECENT", "EXPUNGE"])),
    st.builds(r.Vanished, uidsets, st.booleans()),
    st.builds(r.FetchData, numbers, st.lists(fetch_items, min_size=1, max_size=4).map(tuple)),
    st.builds(
        r.Namespace,
        *[
            st.none()
            | st.lists(st.tuples(mailboxes | st.just(""), delims), min_size=1, max_size=2).map(
                tuple
            )
        ]
        * 3,
    ),
    st.builds(
        r.IdData, st.none() | st.lists(st.tuples(text, st.none() | text), max_size=3).map(tuple)
    ),
    st.builds(
        r.Quota,
        text,
        st.lists(
            st.tuples(st.sampled_from(["STORAGE", "MESSAGE"]), numbers, numbers), max_size=2
        ).map(tuple),
    ),
    st.builds(r.QuotaRoot, mailboxes, st.lists(text, max_size=2).map(tuple)),
)
