"""ESMTP rules: extensions, PIPELINING, SIZE, bare CR/LF, STARTTLS injection, limits, loops."""

from __future__ import annotations

import smtplib
import socket

import pytest

from tests.mta.conftest import client_tls

BODY = b"Subject: t\r\n\r\nbody\r\n"


def start_tx(c, rcpt="alice@local.test"):
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<x@other.test>").startswith(b"250")
    assert c.cmd(f"RCPT TO:<{rcpt}>").startswith(b"250")


def test_ehlo_announces_our_extensions(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes",
                    "starttls"):
            assert c.has_extn(ext), ext
        assert c.esmtp_features["size"] == str(s.config.limits.max_message_size)
        assert not c.has_extn("auth") and not c.has_extn("chunking")


def test_pipelined_transaction_gets_its_replies_in_order(smtp_server):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    c.send(b"MAIL FROM:<x@other.test>\r\nRCPT TO:<alice@local.test>\r\n"
           b"RCPT TO:<nobody@local.test>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n")
    replies = [c.reply()[:3] for _ in range(5)]
    assert replies == [b"250", b"250", b"550", b"250", b"354"]
    c.send(BODY + b".\r\nMAIL FROM:<y@other.test>\r\nRCPT TO:<carol@local.test>\r\nDATA\r\n")
    assert [c.reply()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
    c.send(BODY + b".\r\nQUIT\r\n")
    assert c.reply()[:3] == b"250" and c.reply()[:3] == b"221"
    s.wait_delivered(3)
    assert sorted(s.mail.boxes) == ["alice@local.test", "bob@local.test", "carol@local.test"]


def test_declared_size_over_the_limit_is_refused_at_mail(smtp_server):
    s = smtp_server(limits={"max_message_size": 2048})
    c = s.raw()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<x@other.test> SIZE=2049").startswith(b"552 5.3.4")
    assert c.cmd("MAIL FROM:<x@other.test> SIZE=2048").startswith(b"250")


def test_size_is_enforced_again_while_reading_data(smtp_server):
    s = smtp_server(limits={"max_message_size": 2048})
    c = s.raw()
    start_tx(c)
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 5 + b".\r\n")
    assert c.reply().startswith(b"552 5.3.4")
    assert c.cmd("NOOP").startswith(b"250")  # still in step with the client
    assert s.enqueued == [] and s.mail.boxes == {}


@pytest.mark.parametrize(
    "content",
    [
        b"Subject: a\r\n\r\nbare LF\nhere\r\n",
        b"Subject: a\r\n\r\nbare CR\rhere\r\n",
        # the 2023 smuggling payload: a second message after <LF>.<LF>
        b"Subject: a\r\n\r\nhi\n.\nMAIL FROM:<evil@other.test>\r\n",
        b"Subject: a\r\n\r\nhi\r\n.\rMAIL FROM:<evil@other.test>\r\n",
    ],
)
def test_bare_cr_or_lf_in_data_is_refused(smtp_server, content):
    s = smtp_server()
    c = s.raw()
    start_tx(c)
    assert c.cmd("DATA").startswith(b"354")
    c.send(content + b".\r\n")
    reply = c.reply()
    assert reply.startswith(b"550 5.5.2") and b"bare" in reply
    assert c.cmd("RSET").startswith(b"250")  # nothing smuggled got executed in between
    assert s.enqueued == [] and s.mail.boxes == {}


def test_dot_stuffing_is_undone(smtp_server):
    s = smtp_server()
    c = s.raw()
    start_tx(c)
    c.cmd("DATA")
    assert c.cmd(b"Subject: d\r\n\r\n..leading dot\r\n...\r\n.").startswith(b"250")
    s.wait_delivered(1)
    assert s.mail.boxes["alice@local.test"][0].endswith(b"\r\n.leading dot\r\n..\r\n")


def test_commands_pipelined_behind_starttls_are_discarded(smtp_server):
    s = smtp_server()
    raw = socket.create_connection(("127.0.0.1", s.ports["smtp"]), timeout=10)
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO client.test\r\n")
    while f.readline()[3:4] == b"-":
        pass
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@other.test>\r\nRCPT TO:<alice@local.test>\r\n")
    assert f.readline().startswith(b"220")
    tls = client_tls().wrap_socket(raw, server_hostname="mail.test")
    tf = tls.makefile("rb")
    tls.sendall(b"EHLO client.test\r\n")
    ehlo = b""
    while True:
        line = tf.readline()
        ehlo += line
        if line[3:4] != b"-":
            break
    assert ehlo.startswith(b"250-mail.test") and b"STARTTLS" not in ehlo
    tls.sendall(b"RCPT TO:<alice@local.test>\r\n")
    assert tf.readline().startswith(b"503 5.5.1")  # the injected MAIL never ran
    tls.close()


def test_commands_after_starttls_need_a_new_ehlo(smtp_server):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    assert c.cmd("STARTTLS").startswith(b"220")
    c.sock = client_tls().wrap_socket(c.sock, server_hostname="mail.test")
    assert c.cmd("MAIL FROM:<x@other.test>").startswith(b"503")


def test_received_headers_over_50_are_a_loop(smtp_server):
    s = smtp_server()
    hop = b"Received: from a.test by b.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        c.mail("x@other.test")
        c.rcpt("alice@local.test")
        assert c.data(hop * 51 + BODY) == (554, b"5.4.6 mail loop: 51 Received headers")
        c.mail("x@other.test")
        c.rcpt("alice@local.test")
        assert c.data(hop * 50 + BODY)[0] == 250


def test_recipient_limit(smtp_server):
    s = smtp_server(limits={"max_recipients": 2})
    c = s.raw()
    start_tx(c)
    assert c.cmd("RCPT TO:<bob@local.test>").startswith(b"250")
    assert c.cmd("RCPT TO:<carol@local.test>").startswith(b"452 4.5.3")


def test_over_long_command_line_is_refused_and_the_session_goes_on(smtp_server):
    s = smtp_server()
    c = s.raw()
    c.cmd("EHLO client.test")
    assert c.cmd(b"NOOP " + b"x" * 20000).startswith(b"500 5.5.2")
    assert c.cmd(b"MAIL FROM:<" + b"a" * 600 + b"@other.test>").startswith(b"5")
    assert c.cmd("NOOP").startswith(b"250")


def test_too_many_bad_commands_end_the_session(smtp_server):
    s = smtp_server(limits={"max_bad_commands": 3})
    c = s.raw()
    assert c.cmd("FOO").startswith(b"502")
    assert c.cmd("BAR").startswith(b"502")
    assert c.cmd("BAZ").startswith(b"502")
    assert c.reply().startswith(b"421")
    with pytest.raises(ConnectionError):
        c.line()


def test_connections_over_the_per_ip_limit_get_421(smtp_server):
    s = smtp_server(limits={"max_connections_per_ip": 2})
    a, b = s.raw(), s.raw()
    assert a.greeting.startswith(b"220") and b.greeting.startswith(b"220")
    third = s.raw()
    assert third.greeting.startswith(b"421 4.7.0")
    with pytest.raises(ConnectionError):
        third.line()
    a.cmd("QUIT")
    a.close()
    fourth = s.raw()  # a slot came free
    assert fourth.greeting.startswith(b"220")


def test_idle_client_is_told_421_and_disconnected(smtp_server):
    s = smtp_server(limits={"smtp_idle_timeout": 1})
    c = s.raw()
    assert c.reply().startswith(b"421 4.4.2")


def test_smtputf8_addresses_need_the_parameter(smtp_server):
    s = smtp_server()
    s.accounts.add_user("jösé@local.test")
    c = s.raw()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<ünï@other.test>").startswith(b"553 5.6.7")
    assert c.cmd("MAIL FROM:<ünï@other.test> SMTPUTF8").startswith(b"250")
    assert c.cmd("RCPT TO:<jösé@local.test>").startswith(b"250")
    assert c.cmd("DATA").startswith(b"354")
    assert c.cmd("Subject: ü\r\n\r\nå\r\n.".encode()).startswith(b"250")
    s.wait_delivered(1)
    assert s.mail.boxes["jösé@local.test"][0].endswith("Subject: ü\r\n\r\nå\r\n".encode())
    assert b"with UTF8SMTP" in s.mail.boxes["jösé@local.test"][0]


def test_8bitmime_content_arrives_unchanged(smtp_server):
    s = smtp_server()
    body = b"Subject: 8bit\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n\xe9t\xe9\r\n"
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        c.sendmail("x@other.test", ["alice@local.test"], body, mail_options=["BODY=8BITMIME"])
    s.wait_delivered(1)
    assert s.mail.boxes["alice@local.test"][0].endswith(body)


def test_tls_traces_in_received(smtp_server):
    s = smtp_server()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.starttls(context=client_tls())
        c.sendmail("x@other.test", ["alice@local.test"], BODY)
    s.wait_delivered(1)
    stored = s.mail.boxes["alice@local.test"][0]
    assert b"with ESMTPS (TLSv1." in stored


def test_delivery_and_queue_write_failure_is_a_temporary_error(smtp_server):
    # disk full: the delivery before the 250 fails, and so does keeping it in the queue
    s = smtp_server()
    s.fail_writes = True
    s.mail.fail_writes = True
    with smtplib.SMTP("127.0.0.1", s.ports["smtp"]) as c:
        c.ehlo("client.test")
        c.mail("x@other.test")
        c.rcpt("alice@local.test")
        assert c.data(BODY)[0] == 451
    assert s.mail.boxes == {}
