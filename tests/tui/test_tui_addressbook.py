"""Issue 21 point 18: an address book (vCard file or khard-style command) completes
addresses in the composer."""

from __future__ import annotations

import asyncio
import sys

from mailtool.client.addressbook import (
    MAX_FILE,
    AddressBook,
    parse_query_output,
    parse_vcards,
)
from mailtool.tui.screens.compose import AddressSuggester
from tests.tui.pilot import make_app, open_composer, until

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol Example\r\nN:Example;Carol;;;\r\n"
    "EMAIL;TYPE=work:carol@example.test\r\nitem1.EMAIL:carol.home@example.test\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Dan\\, the\r\n  Builder\r\nEMAIL:mailto:dan@example.test\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No Mail\r\nTEL:+1 555\r\nEND:VCARD\r\n"
)
# khard email --parsable / mutt query_command: a first line of text, then EMAIL\tNAME\tTYPE
QUERY = """\
import sys
print("searching for", sys.argv[-1])
if "erin".startswith(sys.argv[-1].lower()):
    print("erin@example.test\\tErin Query\\twork")
"""


def test_vcards_unfolded_escapes_several_emails_and_cards_without_email():
    contacts = parse_vcards(VCARDS)
    assert [(c.name, c.email) for c in contacts] == [
        ("Carol Example", "carol@example.test"), ("Carol Example", "carol.home@example.test"),
        ("Dan, the Builder", "dan@example.test")]
    assert str(contacts[2]) == '"Dan, the Builder" <dan@example.test>'


def test_query_output_mutt_format():
    out = "Searching database ... 2 entries\nerin@example.test\tErin\tx\nno address here\n" \
          "frank@example.test\n"
    assert [(c.name, c.email) for c in parse_query_output(out)] == [
        ("Erin", "erin@example.test"), ("", "frank@example.test")]


def test_book_searches_file_and_command_bounded(tmp_path):
    vcf = tmp_path / "contacts.vcf"
    vcf.write_text(VCARDS)
    script = tmp_path / "query.py"
    script.write_text(QUERY)
    book = AddressBook(str(vcf), f"{sys.executable} {script} %s")
    assert book.complete("car") == ["Carol Example <carol@example.test>",
                                    "Carol Example <carol.home@example.test>"]
    assert book.complete("build") == ['"Dan, the Builder" <dan@example.test>']  # a name word
    assert book.complete("er") == ["Erin Query <erin@example.test>"]  # from the command
    assert book.complete("car", limit=1) == ["Carol Example <carol@example.test>"]
    assert book.complete("") == []
    # a vCard file bigger than the bound is read up to it, never whole
    huge = tmp_path / "huge.vcf"
    huge.write_bytes(VCARDS.encode() + b"X" * (MAX_FILE + 10)
                     + b"\r\nBEGIN:VCARD\r\nFN:Late\r\nEMAIL:late@example.test\r\nEND:VCARD\r\n")
    assert AddressBook(str(huge)).complete("late") == []
    # a command that does not exist or hangs gives nothing, never an error
    assert AddressBook("", "/nonexistent/query %s").complete("er") == []


def test_suggester_prefers_the_book_after_the_last_comma(tmp_path):
    vcf = tmp_path / "contacts.vcf"
    vcf.write_text(VCARDS)
    suggester = AddressSuggester(None, AddressBook(str(vcf)))
    got = asyncio.run(suggester.get_suggestion("bob@example.test, dan"))
    assert got == 'bob@example.test, "Dan, the Builder" <dan@example.test>'


async def test_composer_completes_from_the_vcard_file(mail_server, account_config, tmp_path):
    vcf = tmp_path / "contacts.vcf"
    vcf.write_text(VCARDS)
    account_config.write_text(account_config.read_text() + "\n[tui]\n"
                              f'address_book = "{vcf}"\n')
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        to = composer.query_one("#field-to")
        await until(pilot, lambda: to.has_focus, "To focused")
        await pilot.press("c", "a", "r")
        await until(pilot, lambda: to._suggestion, "a suggestion")
        await pilot.press("right")
        assert to.value == "Carol Example <carol@example.test>"
