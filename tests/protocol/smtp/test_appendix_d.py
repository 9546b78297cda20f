"""RFC 5321 Appendix D.1, the typical SMTP transaction, played through the
parsers: what the client sends is parsed as the server would, what the server
sends is parsed as the client would."""

from mailtool.protocol.smtp import (
    Address,
    DataReader,
    Ehlo,
    Extensions,
    Reply,
    ReplyParser,
    codes,
    command_reader,
    dot_stuff,
    parse_command,
    parse_ehlo,
    parse_mail_from,
    parse_rcpt_to,
)

CLIENT = (
    b"EHLO bar.com\r\n"
    b"MAIL FROM:<Smith@bar.com>\r\n"
    b"RCPT TO:<Jones@foo.com>\r\n"
    b"RCPT TO:<Green@foo.com>\r\n"
    b"RCPT TO:<Brown@foo.com>\r\n"
    b"DATA\r\n"
    b"Blah blah blah...\r\n"
    b"...etc. etc. etc.\r\n"
    b".\r\n"
    b"QUIT\r\n"
)


def test_appendix_d1_server_side():
    lines = command_reader()
    lines.receive_data(CLIENT)  # a pipelining client sends it all at once
    seen, users, replies = [], {"Jones", "Brown"}, []
    replies.append(Reply(220, ("foo.com Simple Mail Transfer Service Ready",)))
    while (line := lines.next_line()) is not None:
        cmd = parse_command(line)
        seen.append(cmd.verb)
        if cmd.verb == "EHLO":
            ehlo = Ehlo("foo.com", Extensions({"8BITMIME": (), "SIZE": (), "DSN": (), "HELP": ()}))
            ehlo = Ehlo("foo.com", ehlo.extensions, f"greets {cmd.argument}")
            replies.append(ehlo.reply())
        elif cmd.verb == "MAIL":
            assert parse_mail_from(cmd.argument).sender == Address("Smith", "bar.com")
            replies.append(Reply(250, ("OK",)))
        elif cmd.verb == "RCPT":
            rcpt = parse_rcpt_to(cmd.argument).recipient
            ok = rcpt.local_part in users
            replies.append(Reply(250, ("OK",)) if ok else Reply(550, ("No such user here",)))
        elif cmd.verb == "DATA":
            replies.append(
                Reply(codes.C354_START_DATA, ("Start mail input; end with <CRLF>.<CRLF>",))
            )
            reader = DataReader()
            content = reader.feed(lines.take_rest())
            assert reader.done
            assert content == b"Blah blah blah...\r\n..etc. etc. etc.\r\n"
            reader.finish()
            lines.receive_data(reader.rest)
            replies.append(Reply(250, ("OK",)))
        elif cmd.verb == "QUIT":
            replies.append(Reply(221, ("foo.com Service closing transmission channel",)))
    assert seen == ["EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"]

    # the client side reads the same replies back
    parsed = ReplyParser().feed(b"".join(r.format() for r in replies))
    assert parsed == replies
    assert [r.code for r in parsed] == [220, 250, 250, 250, 550, 250, 354, 250, 221]
    ehlo = parse_ehlo(parsed[1])
    assert ehlo.greeting == "greets bar.com" and "DSN" in ehlo.extensions


def test_appendix_d1_client_side_stuffing():
    # the content "..etc." goes on the wire as "...etc." (RFC 5321 §4.5.2)
    wire = dot_stuff(b"Blah blah blah...\r\n..etc. etc. etc.\r\n")
    assert wire == b"Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n"
    assert wire in CLIENT


def _commands(wire: bytes) -> list:
    lines = command_reader()
    lines.receive_data(wire)
    out = []
    while (line := lines.next_line()) is not None:
        out.append(parse_command(line))
    return out


def test_appendix_d2_aborted_transaction():
    cmds = _commands(
        b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n"
        b"RCPT TO:<Green@foo.com>\r\nRSET\r\nQUIT\r\n"
    )
    assert [c.verb for c in cmds] == ["EHLO", "MAIL", "RCPT", "RCPT", "RSET", "QUIT"]
    assert [parse_rcpt_to(c.argument).recipient for c in cmds[2:4]] == [
        Address("Jones", "foo.com"),
        Address("Green", "foo.com"),
    ]
    replies = ReplyParser().feed(b"250 OK\r\n550 No such user here\r\n250 OK\r\n")
    assert [r.code for r in replies] == [250, 550, 250]
    assert replies[1].is_permanent and not replies[1].is_transient


def test_appendix_d3_relay_source_route_is_ignored():
    # step 1 of D.3 names the relay in a source route; RFC 5321 §3.6.1 / App. C:
    # we check its syntax and deliver to the mailbox alone, as step 2 does
    (mail, rcpt, data) = _commands(
        b"MAIL FROM:<JQP@bar.com>\r\nRCPT TO:<@foo.com:Jones@XYZ.COM>\r\nDATA\r\n"
    )
    assert parse_mail_from(mail.argument).sender == Address("JQP", "bar.com")
    assert parse_rcpt_to(rcpt.argument).recipient == Address("Jones", "XYZ.COM")
    assert data == parse_command(b"DATA")
    body = (
        b"Date: Thu, 21 May 1998 05:33:29 -0700\r\nFrom: John Q. Public <JQP@bar.com>\r\n"
        b"Subject: The Next Meeting of the Board\r\nTo: Jones@xyz.com\r\n\r\nBill:\r\n"
        b"The next meeting of the board of directors will be\r\non Tuesday.\r\nJohn.\r\n"
    )
    reader = DataReader()
    assert reader.feed(dot_stuff(body)) == body and reader.finish() == len(body)
