"""Seed inputs for the atheris targets: RFC examples and the files under tests/data.

Kept as code rather than a committed corpus so the repository stays small;
:func:`tests.fuzz.harness.fuzz` writes a target's seeds to ``.fuzz/seeds/<name>/``
and the normal test suite runs every target on them.
"""

from __future__ import annotations

from tests.fuzz.harness import data_files
from tests.mta.authn.test_vectors import RFC6376_KEY, RFC8463_ED25519, RFC8463_RSA

# the keys of tests/data/dkim's RFC 6376 and RFC 8463 examples
DKIM_KEYS = {
    "brisbane._domainkey.example.com": RFC6376_KEY,
    "brisbane._domainkey.football.example.com": RFC8463_ED25519,
    "test._domainkey.football.example.com": RFC8463_RSA,
}

# RFC 5321 §D.1 and friends: a session as the client sends it
SMTP_COMMANDS = [
    b"EHLO bar.com\r\n",
    b"HELO relay.example.org\r\n",
    b"MAIL FROM:<Smith@bar.com>\r\n",
    b"MAIL FROM:<> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=a+2Bb\r\n",
    b"MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n",
    b'RCPT TO:<"a b"@[IPv6:::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b\r\n',
    b"RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>\r\n",
    b"RCPT TO:<Postmaster>\r\n",
    b"RCPT TO:<user@[192.0.2.1]>\r\n",
    b"DATA\r\n",
    b"BDAT 5 LAST\r\nhello",
    b"RSET\r\nNOOP\r\nVRFY Smith\r\nEXPN list\r\nHELP\r\nQUIT\r\n",
    b"STARTTLS\r\n",
    b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n",
    b"AUTH LOGIN\r\ndGlt\r\ndGFuc3RhYWZ0YW5zdGFhZg==\r\n",
    b"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n",
    b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n",
    b"mail from:<a@b.test> size=99999999999999999999\r\n",
    b"\r\n \r\nX\r\nEHLO\r\nMAIL\r\nRCPT TO:\r\n",
]

SMTP_DATA = [
    b"Subject: hi\r\n\r\nhello\r\n.\r\n",
    b"hello\r\n..dot\n.\n\r.\r\r\n.\r\nQUIT\r\n",
    b".\r\n",
    b"a\r\n.\r\nMAIL FROM:<x@y.test>\r\n",
    b"bare\rcr and bare\nlf\r\n.\r\n",
]

SMTP_REPLIES = [
    b"220 foo.com Simple Mail Transfer Service Ready\r\n",
    b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE 10240000\r\n250-DSN\r\n"
    b"250-AUTH PLAIN LOGIN SCRAM-SHA-256\r\n250-STARTTLS\r\n250 HELP\r\n",
    b"250 2.1.0 OK\r\n",
    b"354 Start mail input; end with <CRLF>.<CRLF>\r\n",
    b"550-5.1.1 No such user here\r\n550 5.1.1 really\r\n",
    b"334 \r\n",
    b"421 4.4.2 bye\r\n",
    b"250 OK\n",
]

# RFC 3501 §8 and RFC 9051: commands as a client sends them
IMAP_COMMANDS = [
    b"a001 CAPABILITY\r\n",
    b"a002 LOGIN {5}\r\nsmith sesame\r\n",
    b'a003 LOGIN "smith" "sesame"\r\n',
    b"a004 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n",
    b"A142 SELECT INBOX\r\n",
    b"A932 EXAMINE blurdybloop\r\n",
    b'A682 LIST "" *\r\n',
    b'A683 LSUB "#news." "comp.mail.*"\r\n',
    b"A042 STATUS blurdybloop (UIDNEXT MESSAGES UNSEEN)\r\n",
    b"A003 APPEND saved-messages (\\Seen) {23}\r\nSubject: x\r\n\r\nhello\r\n\r\n",
    b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    b"a SEARCH OR (FROM x) NOT 1:*\r\n",
    b"A283 SEARCH CHARSET UTF-8 TEXT {6}\r\nXX\xc3\xa9XX\r\n",
    b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
    b"a FETCH 1:* (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[1.2.MIME]<0.100>)\r\n",
    b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
    b"A003 COPY 2:4 MEETING\r\n",
    b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
    b"a UID MOVE 1:3 Trash\r\n",
    b"a UID EXPUNGE 3000:3002\r\n",
    b"A202 EXPUNGE\r\nA341 CLOSE\r\n",
    b"a CREATE owatagusiam/\r\na DELETE blurdybloop\r\na RENAME blurdybloop sarasoop\r\n",
    b"a SUBSCRIBE #news.comp.mail.mime\r\na UNSUBSCRIBE x\r\n",
    b"a IDLE\r\nDONE\r\n",
    b"a ENABLE CONDSTORE UTF8=ACCEPT\r\n",
    b'a ID ("name" "sodr" "version" "19.34")\r\n',
    b"a SELECT INBOX (CONDSTORE)\r\na FETCH 1 (FLAGS) (CHANGEDSINCE 12345)\r\n",
    b"a GETQUOTAROOT INBOX\r\na NAMESPACE\r\n",
    b"a SORT (DATE) UTF-8 ALL\r\na THREAD REFERENCES UTF-8 ALL\r\n",
    b"a LIST \"\" \"&U,BTFw-/&ZeVnLIqe-\"\r\n",
    b"a STARTTLS\r\na NOOP\r\na CHECK\r\na UNSELECT\r\na LOGOUT\r\n",
    b"a APPEND INBOX {3+}\r\nabc\r\n",
]

IMAP_RESPONSES = [
    b"* OK IMAP4rev1 Service Ready\r\n",
    b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n",
    b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n",
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
    b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
    b"A142 OK [READ-WRITE] SELECT completed\r\n",
    b'* LIST (\\Noselect) "/" ~/Mail/foo\r\n',
    b"* 1 FETCH (BODY[] {3}\r\nabc FLAGS (\\Seen))\r\n",
    b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 '
    b'ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary" '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) NIL NIL NIL NIL NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") '
    b'NIL NIL "7BIT" 3028 92))\r\n',
    b"* SEARCH 2 84 882\r\n* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
    b"+ Ready for additional command text\r\n+ \r\n",
    b"* BYE Autologout; idle for too long\r\n",
    b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED\r\n",
    b"a NO [TRYCREATE] no such mailbox\r\nb BAD [PARSE] x\r\n",
    b"* 3 EXPUNGE\r\n* VANISHED (EARLIER) 1:3\r\n",
]

IMAP_VALUES = [
    b'("a" NIL (1 2) {2}\r\nxy)',
    b"NIL",
    b'"quoted \\"string\\" \\\\"',
    b"{0}\r\n",
    b"~{3}\r\n\x00\x01\x02",
    b"(\\Seen \\Answered $Junk)",
    b"((1 2) (3 (4 (5))))",
    b"atom",
    b"4294967295",
]

MAILBOX_NAMES = [
    b"INBOX",
    b"&U,BTFw-/&ZeVnLIqe-",
    b"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
    b"&-",
    b"Entw&APw-rfe",
    b"&AGE-",
]

POP3_WIRE = [
    b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
    b"USER mrose\r\nPASS secret\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
    b"STAT\r\nLIST\r\nLIST 2\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nQUIT\r\n",
    b"TOP 1 10\r\nUIDL\r\nUIDL 2\r\nCAPA\r\nSTLS\r\nUTF8\r\n",
    b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n",
    b"AUTH SCRAM-SHA-256\r\n",
    b"+OK 2 320\r\n",
    b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
    b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN SCRAM-SHA-256\r\n"
    b"RESP-CODES\r\nPIPELINING\r\nUIDL\r\nEXPIRE NEVER\r\nIMPLEMENTATION x\r\n.\r\n",
    b"-ERR [AUTH] no such mailbox\r\n",
    b"+ \r\n",
    b"+OK\r\nSubject: x\r\n\r\n..dot-stuffed\r\n.\r\n",
]

SASL = [
    b"",
    b"\0tim\0tanstaaftanstaaf",
    b"Ursel\0Kurt\0xipj3plmq",
    b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO\0\0c=biws,r=x,p=AAAA",
    b"n,a=admin,n=user,r=abc\0\0c=bixhPWFkbWluLA==,r=abc,p=dHp",
    b"y,,n=us=2Cer=3D,r=abc",
    b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
    b"=",
    b"*",
]


def sieve_scripts() -> list[bytes]:
    """RFC 5228 §9 and the extensions' examples (RFC 5229, 5230, 5232, 5233, 5173...)."""
    return [
        s.encode()
        for s in (
            'require ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n'
            '  { fileinto "filter"; }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n'
            "  { keep; }\nelsif anyof (NOT address :all :contains [\"To\", \"Cc\", \"Bcc\"] "
            '"me@example.com",\n  header :matches "subject" ["*make*money*fast*", '
            '"*university*dipl*mas*"])\n  { fileinto "spam"; }\nelse { fileinto "personal"; }\n',
            "# comment\r\n/* bracketed\r\n comment */ keep;",
            "if size :over 100K { discard; stop; }",
            "if size :under 1M { keep; } else { discard; }",
            'if exists ["From","Date"] { keep; }',
            'if header :comparator "i;octet" :contains "Subject" "MAKE MONEY" { discard; }',
            'if address :localpart :is "from" "postmaster" { redirect "a@b.example"; }',
            'if envelope :all :is "from" "tim@example.com" { discard; }',
            'require ["fileinto", "reject"];\nreject text:\nno thanks\n..dot\n.\n;',
            'require "vacation";\nvacation :days 23 :addresses ["tjs@example.edu"] '
            '"I\'m away until October 19.";',
            'require ["variables", "fileinto"];\nif header :matches "List-ID" "*<*@*" '
            '{ fileinto "INBOX.lists.${2}"; stop; }\nset :lower "name" "${1}";',
            'require ["imap4flags"];\nsetflag "\\\\Seen";\naddflag ["\\\\Flagged", "$x"];\n'
            'if hasflag :contains "flags" "Seen" { removeflag "\\\\Seen"; }',
            'require ["body"];\nif body :text :contains "viagra" { discard; }',
            'require ["copy", "fileinto"];\nfileinto :copy "archive";',
            'require ["relational", "comparator-i;ascii-numeric"];\n'
            'if header :value "gt" :comparator "i;ascii-numeric" "X-Spam-Score" "5" { discard; }',
            'require "subaddress";\nif address :detail "to" "sieve" { keep; }',
            'require ["envelope", "date"];\nif date :is "date" "year" "2024" { keep; }',
            'if allof (true, not false) { keep; }',
            'if header :is "x" "\\"\\\\" { keep; }',
            "if size :over 4294967295 { keep; }",
            'require ["editheader"];\naddheader "X-Test" "v";\ndeleteheader "X-Old";',
        )
    ]


def messages() -> list[bytes]:
    """The MIME corpus and the DKIM examples of tests/data."""
    return data_files("mime", "*.eml") + data_files("dkim", "*.eml")
