"""SMTP AUTH (RFC 4954) played in memory: our SASL client halves against our
server halves, framed as 334 replies and base64 lines, as the MTA and the
client will frame them; and the replies for each SASL failure."""

import pytest

from mailtool.protocol import sasl
from mailtool.protocol.smtp import (
    AUTH_LINE_LIMIT,
    Reply,
    ReplyParser,
    codes,
    command_reader,
    parse_command,
    reply_for_sasl_error,
)

PASSWORDS = {"alice@a.test": "correct horse"}
CREDS = {u: sasl.scram_credentials(p) for u, p in PASSWORDS.items()}


class FakeMTA:
    """What an MTA does with the client's bytes, one call per received chunk."""

    def __init__(self) -> None:
        self.lines = command_reader(AUTH_LINE_LIMIT)
        self.mech: sasl.ServerMechanism | None = None
        self.done: sasl.Done | None = None

    def receive(self, data: bytes) -> bytes:
        self.lines.receive_data(data)
        out = b""
        while (line := self.lines.next_line()) is not None:
            try:
                if self.mech is None:
                    cmd = parse_command(line)
                    assert cmd.verb == "AUTH"
                    name, _, initial = cmd.argument.partition(" ")
                    self.mech = sasl.server_mechanism(
                        name, verify=lambda u, p: PASSWORDS.get(u) == p, lookup=CREDS.get
                    )
                    step = self.mech.step(sasl.decode_initial_response(initial or None))
                else:
                    step = self.mech.step(sasl.decode_response(line))
            except sasl.SaslError as exc:
                return out + reply_for_sasl_error(exc).format()
            if isinstance(step, sasl.Done):
                self.done = step
                reply = Reply(codes.C235_AUTH_SUCCESS, ("authenticated",), codes.ES_AUTH_OK)
                return out + reply.format()
            out += b"334 " + sasl.encode_challenge(step) + b"\r\n"
        return out


def server_side(wire: bytes) -> tuple[bytes, sasl.Done | None]:
    mta = FakeMTA()
    out = mta.receive(wire)
    return out, mta.done


def exchange(client: sasl.ClientMechanism, use_initial: bool = True):
    """Drive client and server back to back; return the final reply and outcome."""
    mta, parser = FakeMTA(), ReplyParser()
    initial = client.initial_response() if use_initial else None
    wire = f"AUTH {client.name}".encode()
    if initial is not None:
        wire += b" " + sasl.encode_response(initial, initial=True)
    replies = parser.feed(mta.receive(wire + b"\r\n"))
    while replies[-1].code == codes.C334_CONTINUE:
        challenge = sasl.decode_challenge(replies[-1].text)
        replies = parser.feed(mta.receive(sasl.encode_response(client.step(challenge)) + b"\r\n"))
    return replies[-1], mta.done


@pytest.mark.parametrize("use_initial", [True, False])
@pytest.mark.parametrize("name", ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
def test_each_mechanism_authenticates(name, use_initial):
    client = sasl.client_mechanism(name, "alice@a.test", "correct horse")
    last, done = exchange(client, use_initial)
    assert (last.code, last.enhanced) == (235, "2.7.0")
    assert done == sasl.Done("alice@a.test", None)
    assert client.done


@pytest.mark.parametrize("name", ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
def test_wrong_password_is_535(name):
    client = sasl.client_mechanism(name, "alice@a.test", "wrong")
    last, done = exchange(client)
    assert (last.code, last.enhanced) == (535, "5.7.8")
    assert done is None


def test_cancel_bad_base64_and_unknown_mechanism():
    out, _ = server_side(b"AUTH LOGIN\r\n*\r\n")
    assert ReplyParser().feed(out)[-1].code == 501  # RFC 4954 §4
    out, _ = server_side(b"AUTH PLAIN !!!!\r\n")
    assert ReplyParser().feed(out)[-1].code == 501
    out, _ = server_side(b"AUTH CRAM-MD5\r\n")
    assert ReplyParser().feed(out)[-1].code == 504


def test_reply_for_each_sasl_error():
    assert reply_for_sasl_error(sasl.SaslAuthFailed("x")).format() == (
        b"535 5.7.8 authentication failed\r\n"
    )
    assert reply_for_sasl_error(sasl.SaslCancelled("x")).code == 501
    assert reply_for_sasl_error(sasl.SaslUnsupported("x")).code == 504
    assert reply_for_sasl_error(sasl.SaslMalformed("bad")).code == 501
    assert reply_for_sasl_error(sasl.SaslError("other")).code == 454
