"""Table tests built from the example exchanges of RFC 9051 / RFC 3501 §6-§7 and the
extension RFCs: each client line parses to the expected command, each server line
to the expected response, and formats back to the same bytes."""

from __future__ import annotations

import datetime as dt

import pytest

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap import responses as r
from mailtool.protocol.imap.command_formatter import format_command
from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.fetch import FetchAttr, Section
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.responses import format_response
from mailtool.protocol.imap.search import ModSeqCriterion, SearchKey
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.status import ResponseCode, StatusResponse

S = SequenceSet.parse
PDT = dt.timezone(dt.timedelta(hours=-7))

COMMANDS = [
    # RFC 9051 §6.1.1, §6.2.3, §6.3.2, §6.3.3
    (b"abcd CAPABILITY", c.Simple("abcd", "CAPABILITY")),
    (b"a001 login SMITH SESAME", c.Login("a001", "SMITH", "SESAME")),
    (b"A142 SELECT INBOX", c.Select("A142", "INBOX")),
    (b"A932 EXAMINE blurdybloop", c.Select("A932", "blurdybloop", readonly=True)),
    # RFC 9051 §6.3.4 / RFC 6154 §5.2
    (b"A003 CREATE owatagusiam/", c.Create("A003", "owatagusiam/")),
    (
        b't1 CREATE "Important Messages" (USE (\\Important))',
        c.Create("t1", "Important Messages", ("\\Important",)),
    ),
    (b"A683 DELETE blurdybloop", c.MailboxCommand("A683", "DELETE", "blurdybloop")),
    (b"A683 RENAME blurdybloop sarasoop", c.Rename("A683", "blurdybloop", "sarasoop")),
    (
        b"A002 SUBSCRIBE #news.comp.mail.mime",
        c.MailboxCommand("A002", "SUBSCRIBE", "#news.comp.mail.mime"),
    ),
    # RFC 9051 §6.3.9 and RFC 5258 §5 / RFC 5819
    (b'A101 LIST "" ""', c.List("A101", "", ("",))),
    (b"A202 LIST ~/Mail/ %", c.List("A202", "~/Mail/", ("%",))),
    (b'A02 LIST (SUBSCRIBED) "" "*"', c.List("A02", "", ("*",), ("SUBSCRIBED",))),
    (
        b'A03 LIST () "" "%" RETURN (CHILDREN)',
        c.List("A03", "", ("%",), (), ("CHILDREN",), has_return=True),
    ),
    (
        b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))',
        c.List("A01", "", ("%",), status_items=("MESSAGES", "UNSEEN"), has_return=True),
    ),
    (
        b'x LIST (SUBSCRIBED SPECIAL-USE) "" "*" RETURN (CHILDREN SUBSCRIBED SPECIAL-USE '
        b"STATUS (MESSAGES UNSEEN))",
        c.List(
            "x",
            "",
            ("*",),
            ("SUBSCRIBED", "SPECIAL-USE"),
            ("CHILDREN", "SUBSCRIBED", "SPECIAL-USE"),
            ("MESSAGES", "UNSEEN"),
            has_return=True,
        ),
    ),
    (b'A05 LIST "" ("INBOX" "Drafts")', c.List("A05", "", ("INBOX", "Drafts"))),
    (b'A002 LSUB "#news." "comp.mail.*"', c.List("A002", "#news.", ("comp.mail.*",), lsub=True)),
    (
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
        c.Status("A042", "blurdybloop", ("UIDNEXT", "MESSAGES")),
    ),
    # RFC 9051 §6.3.12
    (
        b'A003 APPEND saved-messages (\\Seen) "17-Jul-1996 02:44:25 -0700" {15}\r\nDate: Mon, 7 Fe',
        c.Append(
            "A003",
            "saved-messages",
            ("\\Seen",),
            dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=PDT),
            b"Date: Mon, 7 Fe",
        ),
    ),
    (
        b"A003 APPEND saved-messages ~{3}\r\na\x00b",
        c.Append("A003", "saved-messages", message=b"a\x00b", binary=True),
    ),
    # RFC 6855 §4: the UTF8 APPEND data extension (a message with 8-bit headers)
    (
        b"A004 APPEND INBOX UTF8 (~{13}\r\nSubject: \xc3\xa9\r\n)",
        c.Append("A004", "INBOX", message=b"Subject: \xc3\xa9\r\n", utf8=True),
    ),
    # RFC 9051 §6.4.3, RFC 4315 §2.1, RFC 6851 §3.3
    (b"A202 EXPUNGE", c.Expunge("A202")),
    (b"A003 UID EXPUNGE 3000:3002", c.Expunge("A003", S("3000:3002"))),
    (b"a UID MOVE 42:69 foo", c.Copy("a", S("42:69"), "foo", move=True, uid=True)),
    (b"A003 COPY 2:4 MEETING", c.Copy("A003", S("2:4"), "MEETING")),
    # RFC 9051 §6.4.4 (and RFC 3501's SEARCH with CHARSET and a literal)
    (
        b'A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
        c.Search(
            "A282",
            (
                SearchKey("FLAGGED"),
                SearchKey("SINCE", dt.date(1994, 2, 1)),
                SearchKey("NOT", SearchKey("FROM", "Smith")),
            ),
            None,
            ("MIN", "COUNT"),
        ),
    ),
    (b"A283 SEARCH RETURN () FLAGGED", c.Search("A283", (SearchKey("FLAGGED"),), None, ())),
    (
        b'A284 SEARCH TEXT "string not in mailbox"',
        c.Search("A284", (SearchKey("TEXT", "string not in mailbox"),)),
    ),
    (
        b"A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x96\x87",
        c.Search("A285", (SearchKey("TEXT", "日本語文"),), "UTF-8"),
    ),
    (
        b"A1 SEARCH OR (FROM a SMALLER 100) NOT 2:4,*",
        c.Search(
            "A1",
            (
                SearchKey(
                    "OR",
                    (
                        SearchKey("AND", (SearchKey("FROM", "a"), SearchKey("SMALLER", 100))),
                        SearchKey("NOT", SearchKey("SEQ", S("2:4,*"))),
                    ),
                ),
            ),
        ),
    ),
    (
        b"A2 UID SEARCH UID $ HEADER Message-ID <x@y> KEYWORD $Junk",
        c.Search(
            "A2",
            (
                SearchKey("UID", SequenceSet.saved_result()),
                SearchKey("HEADER", ("Message-ID", "<x@y>")),
                SearchKey("KEYWORD", "$Junk"),
            ),
            uid=True,
        ),
    ),
    # RFC 7162 §3.1.5
    (
        b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
        c.Search("a", (SearchKey("MODSEQ", ModSeqCriterion(620162338, "/flags/\\draft", "all")),)),
    ),
    # RFC 9051 §6.4.5
    (
        b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
        c.Fetch(
            "A654",
            S("2:4"),
            (FetchAttr("FLAGS"), FetchAttr("BODY", Section((), "HEADER.FIELDS", ("DATE", "FROM")))),
        ),
    ),
    (
        b"A1 FETCH 1 (BODY.PEEK[1.2.MIME] BINARY.PEEK[1]<0.1024> BINARY.SIZE[2] RFC822.HEADER)",
        c.Fetch(
            "A1",
            S("1"),
            (
                FetchAttr("BODY", Section((1, 2), "MIME"), peek=True),
                FetchAttr("BINARY", Section((1,)), (0, 1024), peek=True),
                FetchAttr("BINARY.SIZE", Section((2,))),
                FetchAttr("RFC822.HEADER"),
            ),
        ),
    ),
    (
        b"A2 FETCH 1:* FAST",
        c.Fetch(
            "A2",
            S("1:*"),
            tuple(FetchAttr(n) for n in ("FLAGS", "INTERNALDATE", "RFC822.SIZE")),
            "FAST",
        ),
    ),
    # RFC 7162 §3.1.4.1, §3.2.6
    (
        b"s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
        c.Fetch("s100", S("1:*"), (FetchAttr("FLAGS"),), None, 12345, uid=True),
    ),
    (
        b"A02 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
        c.Fetch("A02", S("300:500"), (FetchAttr("FLAGS"),), None, 12345, True, uid=True),
    ),
    # RFC 9051 §6.4.6, RFC 7162 §3.1.3
    (b"A003 STORE 2:4 +FLAGS (\\Deleted)", c.Store("A003", S("2:4"), "+", False, ("\\Deleted",))),
    (
        b"a102 STORE 12 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
        c.Store("a102", S("12"), "+", True, ("\\Deleted",), 320162338),
    ),
    (
        b"a UID STORE 4:2 -FLAGS \\Seen $Junk",
        c.Store("a", S("4:2"), "-", False, ("\\Seen", "$Junk"), uid=True),
    ),
    # RFC 7162 §3.2.5 (QRESYNC), §3.1.8 (CONDSTORE)
    (
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
        c.Select(
            "A02", "INBOX", qresync=c.Qresync(67890007, 20050715194045000, S("41,43:211,214:541"))
        ),
    ),
    (
        b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
        b"15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
        c.Select(
            "B04",
            "INBOX",
            qresync=c.Qresync(
                67890007,
                90060115194045000,
                S("1:29997"),
                (
                    S("5000,7500,9000,9990:9999"),
                    S(
                        "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997"
                    ),
                ),
            ),
        ),
    ),
    (b"a EXAMINE INBOX (CONDSTORE)", c.Select("a", "INBOX", readonly=True, condstore=True)),
    # RFC 5161, RFC 2971, RFC 2342, RFC 2177, RFC 3691
    (b"t2 ENABLE CONDSTORE X-GOOD-IDEA", c.Enable("t2", ("CONDSTORE", "X-GOOD-IDEA"))),
    (
        b'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")',
        c.Id(
            "a023", (("name", "sodr"), ("version", "19.34"), ("vendor", "Pink Floyd Music Limited"))
        ),
    ),
    (b"a ID NIL", c.Id("a", None)),
    (b"A001 NAMESPACE", c.Simple("A001", "NAMESPACE")),
    (b"A002 IDLE", c.Simple("A002", "IDLE")),
    (b"A341 UNSELECT", c.Simple("A341", "UNSELECT")),
    (b"FXXZ CHECK", c.Simple("FXXZ", "CHECK")),
    # RFC 9208 §4.1-4.3
    (b'G0001 GETQUOTA "!partition/sda4"', c.GetQuota("G0001", "!partition/sda4")),
    (b"G0002 GETQUOTAROOT INBOX", c.MailboxCommand("G0002", "GETQUOTAROOT", "INBOX")),
    (
        b'S0000 SETQUOTA "#user/alice" (STORAGE 510)',
        c.SetQuota("S0000", "#user/alice", (("STORAGE", 510),)),
    ),
    # RFC 4959 §4 (SASL-IR), RFC 9051 §6.2.2
    (
        b"a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
        c.Authenticate("a", "PLAIN", b"test\x00test\x00test"),
    ),
    (b"a AUTHENTICATE EXTERNAL =", c.Authenticate("a", "EXTERNAL", b"")),
    (b"A001 AUTHENTICATE GSSAPI", c.Authenticate("A001", "GSSAPI")),
    # RFC 3501 §5.1.3 modified UTF-7
    (b"A1 CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-", c.Create("A1", "~peter/mail/台北/日本語")),
]


@pytest.mark.parametrize(
    ("wire", "expected"), COMMANDS, ids=[w[:30].decode("latin-1") for w, _ in COMMANDS]
)
def test_rfc_command_examples(wire: bytes, expected: c.Command) -> None:
    assert parse_command(wire + b"\r\n") == expected
    assert parse_command(format_command(expected)) == expected


RESPONSES = [
    (
        b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED",
        r.Capability(("IMAP4rev2", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED")),
    ),
    (b"abcd OK CAPABILITY completed", StatusResponse("abcd", "OK", "CAPABILITY completed")),
    (b"* 172 EXISTS", r.MessageNumber(172, "EXISTS")),
    (b"* 1 RECENT", r.MessageNumber(1, "RECENT")),
    (b"* 22 EXPUNGE", r.MessageNumber(22, "EXPUNGE")),
    (
        b"* OK [UNSEEN 12] Message 12 is first unseen",
        StatusResponse(None, "OK", "Message 12 is first unseen", ResponseCode("UNSEEN", 12)),
    ),
    (
        b"* OK [UIDVALIDITY 3857529045] UIDs valid",
        StatusResponse(None, "OK", "UIDs valid", ResponseCode("UIDVALIDITY", 3857529045)),
    ),
    (
        b"* OK [UIDNEXT 4392] Predicted next UID",
        StatusResponse(None, "OK", "Predicted next UID", ResponseCode("UIDNEXT", 4392)),
    ),
    (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        r.Flags(("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")),
    ),
    (
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited",
        StatusResponse(
            None, "OK", "Limited", ResponseCode("PERMANENTFLAGS", ("\\Deleted", "\\Seen", "\\*"))
        ),
    ),
    (
        b"A142 OK [READ-WRITE] SELECT completed",
        StatusResponse("A142", "OK", "SELECT completed", ResponseCode("READ-WRITE")),
    ),
    (
        b"A932 OK [READ-ONLY] EXAMINE completed",
        StatusResponse("A932", "OK", "EXAMINE completed", ResponseCode("READ-ONLY")),
    ),
    (b'* LIST (\\Noselect) "/" ""', r.ListItem(("\\Noselect",), "/", "")),
    (b'* LIST (\\Noselect) "." #news.', r.ListItem(("\\Noselect",), ".", "#news.")),
    (
        b'* LIST () "/" "Fruit/Banana" ("OLDNAME" ("Fruit/Peach"))',
        r.ListItem((), "/", "Fruit/Banana", (("OLDNAME", ["Fruit/Peach"]),)),
    ),
    (
        b'* LIST (\\HasChildren) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))',
        r.ListItem(("\\HasChildren",), "/", "Foo", (("CHILDINFO", ["SUBSCRIBED"]),)),
    ),
    (b'* LSUB () "." #news.comp.mail.misc', r.ListItem((), ".", "#news.comp.mail.misc", lsub=True)),
    (
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)",
        r.MailboxStatus("blurdybloop", (("MESSAGES", 231), ("UIDNEXT", 44292))),
    ),
    (b"* SEARCH 2 84 882", r.SearchResult((2, 84, 882))),
    (b"* SEARCH", r.SearchResult(())),
    (
        b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)",
        r.SearchResult((2, 5, 6, 7, 11, 12, 18, 19, 20, 23), 917162500),
    ),
    (b'* ESEARCH (TAG "A282") MIN 2 COUNT 3', r.ESearch("A282", False, (("MIN", 2), ("COUNT", 3)))),
    (
        b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800',
        r.ESearch("A285", True, (("MIN", 7), ("MAX", 3800))),
    ),
    (b'* ESEARCH (TAG "A284") ALL 2,10:11', r.ESearch("A284", False, (("ALL", S("2,10:11")),))),
    (
        b"* 23 FETCH (FLAGS (\\Seen) UID 4827313)",
        r.FetchData(23, ((FetchAttr("FLAGS"), ("\\Seen",)), (FetchAttr("UID"), 4827313))),
    ),
    (
        b"* 12 FETCH (BODY[HEADER] {12}\r\nSubject: x\r\n)",
        r.FetchData(12, ((FetchAttr("BODY", Section((), "HEADER")), b"Subject: x\r\n"),)),
    ),
    (
        b"* 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\\Seen))",
        r.FetchData(
            1,
            (
                (FetchAttr("UID"), 4),
                (FetchAttr("MODSEQ"), 65402),
                (FetchAttr("FLAGS"), ("\\Seen",)),
            ),
        ),
    ),
    (
        b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540",
        r.Vanished(S("41,43:116,118,120:211,214:540"), True),
    ),
    (b"* VANISHED 405,407,410,425", r.Vanished(S("405,407,410,425"))),
    (
        b'* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")("#ftp/" "/")'
        b'("#news." "."))',
        r.Namespace(
            (("", "/"),),
            (("~", "/"),),
            (("#shared/", "/"), ("#public/", "/"), ("#ftp/", "/"), ("#news.", ".")),
        ),
    ),
    (b"* NAMESPACE NIL NIL NIL", r.Namespace()),
    (
        b'* ID ("name" "Cyrus" "version" "1.5" "os" "sunos" "os-version" "5.5" '
        b'"support-url" "mailto:cyrus-bugs+@andrew.cmu.edu")',
        r.IdData(
            (
                ("name", "Cyrus"),
                ("version", "1.5"),
                ("os", "sunos"),
                ("os-version", "5.5"),
                ("support-url", "mailto:cyrus-bugs+@andrew.cmu.edu"),
            )
        ),
    ),
    (b"* ENABLED CONDSTORE", r.Enabled(("CONDSTORE",))),
    (b'* QUOTA "" (STORAGE 10 512)', r.Quota("", (("STORAGE", 10, 512),))),
    (b'* QUOTAROOT INBOX ""', r.QuotaRoot("INBOX", ("",))),
    (
        b"* BYE IMAP4rev2 Server logging out",
        StatusResponse(None, "BYE", "IMAP4rev2 Server logging out"),
    ),
    (
        b"* PREAUTH IMAP4rev2 server logged in as Smith",
        StatusResponse(None, "PREAUTH", "IMAP4rev2 server logged in as Smith"),
    ),
    (
        b"+ Ready for additional command text",
        r.ContinuationRequest("Ready for additional command text"),
    ),
    (
        b"A003 OK [APPENDUID 38505 3955] APPEND completed",
        StatusResponse(
            "A003", "OK", "APPEND completed", ResponseCode("APPENDUID", (38505, S("3955")))
        ),
    ),
    (
        b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done",
        StatusResponse(
            "A004", "OK", "Done", ResponseCode("COPYUID", (38505, S("304,319:320"), S("3956:3958")))
        ),
    ),
    (
        b"d105 OK [MODIFIED 7,9] Conditional STORE failed",
        StatusResponse(
            "d105", "OK", "Conditional STORE failed", ResponseCode("MODIFIED", S("7,9"))
        ),
    ),
    (
        b"* OK [HIGHESTMODSEQ 715194045007] Highest",
        StatusResponse(None, "OK", "Highest", ResponseCode("HIGHESTMODSEQ", 715194045007)),
    ),
    (
        b"* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences",
        StatusResponse(
            None,
            "OK",
            "Sorry, this mailbox format doesn't support modsequences",
            ResponseCode("NOMODSEQ"),
        ),
    ),
    (
        b"* OK [CLOSED] Previous mailbox closed.",
        StatusResponse(None, "OK", "Previous mailbox closed.", ResponseCode("CLOSED")),
    ),
    (
        b"A003 NO [TRYCREATE] Mailbox doesn't exist: Sent",
        StatusResponse("A003", "NO", "Mailbox doesn't exist: Sent", ResponseCode("TRYCREATE")),
    ),
    (
        b"a NO [BADCHARSET (US-ASCII)] charset",
        StatusResponse("a", "NO", "charset", ResponseCode("BADCHARSET", ("US-ASCII",))),
    ),
    (
        b"a NO [AUTHENTICATIONFAILED] Authentication failed",
        StatusResponse("a", "NO", "Authentication failed", ResponseCode("AUTHENTICATIONFAILED")),
    ),
    (b"a NO [OVERQUOTA] Sorry", StatusResponse("a", "NO", "Sorry", ResponseCode("OVERQUOTA"))),
    (
        b"a OK [CAPABILITY IMAP4rev2 IDLE] Logged in",
        StatusResponse("a", "OK", "Logged in", ResponseCode("CAPABILITY", ("IMAP4rev2", "IDLE"))),
    ),
    (
        b"* NO [ALERT] System shutdown in 10 minutes",
        StatusResponse(None, "NO", "System shutdown in 10 minutes", ResponseCode("ALERT")),
    ),
    (
        b"a BAD [PARSE] Bad command",
        StatusResponse("a", "BAD", "Bad command", ResponseCode("PARSE")),
    ),
]


@pytest.mark.parametrize(
    ("wire", "expected"), RESPONSES, ids=[w[:30].decode("latin-1") for w, _ in RESPONSES]
)
def test_rfc_response_examples(wire: bytes, expected: r.Response) -> None:
    assert parse_response(wire + b"\r\n") == expected
    assert (
        format_response(expected) == wire + b"\r\n"
        or parse_response(format_response(expected)) == expected
    )


def test_rfc9051_fetch_envelope_and_body_example() -> None:
    # RFC 9051 §7.5.2 / RFC 3501 §7.4.2: the FETCH response with ENVELOPE; note the
    # address list written without a space between addresses ("1*address").
    wire = (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
        b'"IMAP4rev2 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) '
        b'NIL NIL "<B27397-0100000@cac.washington.edu>") '
        b'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n'
    )
    resp = parse_response(wire)
    assert isinstance(resp, r.FetchData)
    assert resp.seq == 12
    assert resp.get("FLAGS") == ("\\Seen",)
    assert resp.get("INTERNALDATE") == dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=PDT)
    assert resp.get("RFC822.SIZE") == 4286
    envelope = resp.get("ENVELOPE")
    assert envelope[6] == [
        [None, None, "minutes", "CNRI.Reston.VA.US"],
        ["John Klensin", None, "KLENSIN", "MIT.EDU"],
    ]
    assert resp.get("BODY") == [
        "TEXT",
        "PLAIN",
        ["CHARSET", "US-ASCII"],
        None,
        None,
        "7BIT",
        3028,
        92,
    ]
    assert format_response(resp) == wire


def test_multipart_bodystructure_round_trip() -> None:
    wire = (
        b'* 3 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" '
        b'1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) '
        b'"MIXED"))\r\n'
    )
    resp = parse_response(wire)
    body = resp.get("BODYSTRUCTURE")  # type: ignore[union-attr]
    assert body[-1] == "MIXED" and len(body[0]) == 8
    assert format_response(resp) == wire
