"""Run the SMTP, POP3 and SASL atheris targets without atheris: each target's
``test_one_input`` over protocol-shaped random inputs and the RFC examples, so a
target that is broken (or a parser that raises something other than a
ProtocolError) fails here, not only under ``make fuzz``."""

import importlib.util
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.protocol.wire_strategies import wire

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = sorted(
    p
    for pattern in ("fuzz_smtp_*.py", "fuzz_pop3_*.py", "fuzz_sasl_*.py")
    for p in FUZZ.glob(pattern)
)
SEEDS = [
    b"",
    b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250 HELP\r\n",
    b'MAIL FROM:<Smith@bar.com> SIZE=100 ENVID=a+2Bb\r\nRCPT TO:<"a b"@[IPv6:::1]>\r\n',
    b"hello\r\n..dot\n.\n\r.\r\r\n.\r\nQUIT\r\n",
    b"+OK Capability list follows\r\nTOP\r\nSASL PLAIN\r\n.\r\n",
    b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO\0\0c=biws,r=x,p=AAAA",
    b"\0tim\0tanstaaftanstaaf",
]


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # must not need atheris at import time
    return module


def test_targets_exist():
    names = {p.stem for p in TARGETS}
    assert {"fuzz_smtp_reply", "fuzz_smtp_command", "fuzz_smtp_data"} <= names
    assert {"fuzz_pop3_wire", "fuzz_sasl_server"} <= names


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: p.stem)
def test_target_on_seeds_and_random_wire(path):
    target = load(path).test_one_input
    for seed in SEEDS:
        target(seed)

    @settings(max_examples=150, deadline=None)
    @given(wire(60))
    def run(data):
        target(data)

    run()
