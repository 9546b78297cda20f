"""Issue 21 point 20 in the TUI: the reader's status line says what gpg / openssl
found ("signed by X (good/bad/unknown key)"), encrypted mail is shown decrypted, and
the composer's sign / encrypt toggles send mail gpg itself accepts."""

from __future__ import annotations

import subprocess

from tests.client import gpg as keys
from tests.client.test_crypto import HEAD, PART, first_part, pgp_mime_signed, smime
from tests.tui.pilot import make_app, open_only_message, until
from tests.tui.servers import OTHER
from tests.tui.test_tui_compose import composing, notified

gnupg_home = keys.gnupg_home  # the fixtures, for this module
stranger_home = keys.stranger_home
smime_message = smime


def status_of(main) -> str:
    return main.reader.message_status.text


async def test_reader_says_good_then_bad_signature(mail_server, account_config, gnupg_home):
    good = pgp_mime_signed(gnupg_home, "bob@example.test")
    mail_server.deliver(good)
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Meet at noon.")
        await until(pilot, lambda: "(good)" in status_of(main), "verdict")
        assert status_of(main) == "PGP signed by Bob <bob@example.test> (good)"
        assert main.reader.message_status.has_class("good")
        # a second message, altered after signing, pushed once IDLE runs
        await until(pilot, lambda: "idle" in main.query_one("#connection").text, "IDLE")
        mail_server.deliver(good.replace(b"noon", b"nine").replace(b"<1@", b"<2@"))
        await until(pilot, lambda: len(main.mlist.rows) == 2, "2 rows")
        newest = max(uid for uid, _depth in main.mlist.rows)
        main.mlist.go([uid for uid, _depth in main.mlist.rows].index(newest))
        await pilot.press("enter")
        await until(pilot, lambda: "Meet at nine." in main.reader.body_text, "altered one")
        await until(pilot, lambda: "bad" in status_of(main), "verdict")
        assert status_of(main) == "PGP signed by Bob <bob@example.test> (bad signature)"
        assert main.reader.message_status.has_class("bad")


async def test_reader_shows_encrypted_mail_decrypted(mail_server, account_config, gnupg_home):
    armour = keys.gpg(gnupg_home, "--armor", "--encrypt", "--sign", "--local-user",
                      "bob@example.test", "--recipient", "alice@example.test", data=PART)
    mail_server.deliver(
        HEAD + b'Content-Type: multipart/encrypted; boundary="YY";\r\n'
        b' protocol="application/pgp-encrypted"\r\n\r\n--YY\r\n'
        b"Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--YY\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + armour + b"\r\n--YY--\r\n")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == 1, "1 row")
        await pilot.press("enter")
        await until(pilot, lambda: "Meet at noon." in main.reader.body_text, "clear text")
        assert status_of(main) == ("PGP encrypted (decrypted)  ·  "
                                   "PGP signed by Bob <bob@example.test> (good)")


async def test_reader_checks_smime(mail_server, account_config, smime_message):
    raw, _cert = smime_message
    mail_server.deliver(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Meet at noon.")
        await until(pilot, lambda: "S/MIME" in status_of(main), "verdict")
        # a self-signed certificate nobody trusts: intact, but an unknown key
        assert status_of(main) == ("S/MIME signed by carol@example.test "
                                   "(unknown key: certificate not trusted)")


def received(server, subject: str) -> bytes:
    [uid] = server.wait_for(OTHER, f'SUBJECT "{subject}"')
    imap = server.check(OTHER)
    imap.select("INBOX")
    raw = imap.uid("FETCH", uid, "(BODY.PEEK[])")[1][0][1]
    imap.logout()
    return raw


async def send_with(pilot, subject: str, *keys_pressed: str) -> None:
    app = pilot.app
    await until(pilot, lambda: app.screen.session is not None, "connected")
    composer = await composing(pilot, subject)
    for key in keys_pressed:
        await pilot.press(key)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: notified(app, f"Sent: {subject}"), "sent")
    del composer


async def test_composer_signs_and_gpg_accepts_it(mail_server, account_config, gnupg_home):
    account_config.write_text(account_config.read_text() + 'pgp_key = "alice@example.test"\n')
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await send_with(pilot, "Signed words", "ctrl+g")
    data, signature = first_part(received(mail_server, "Signed words"))
    (gnupg_home / "sig.asc").write_bytes(signature)
    out = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify",
                          str(gnupg_home / "sig.asc"), "-"], input=data, capture_output=True,
                         check=False)
    assert b"GOODSIG" in out.stdout and b"alice@example.test" in out.stdout, out.stderr


async def test_composer_encrypts_to_recipient_and_self(mail_server, account_config,
                                                        gnupg_home):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await send_with(pilot, "Sealed words", "ctrl+o")
        # the copy in Sent is encrypted to the sender too: it reads in our own reader
        main = app.screen
        main.open_folder("Sent")
        await until(pilot, lambda: main.folder == "Sent" and len(main.mlist.rows) == 1,
                    "Sent listed")
        await pilot.press("enter")
        await until(pilot, lambda: "Words worth keeping." in main.reader.body_text,
                    "Sent copy decrypted")
    raw = received(mail_server, "Sealed words")
    assert b"multipart/encrypted" in raw and b"Words worth keeping" not in raw
    out = subprocess.run(["gpg", "--batch", "--status-fd", "2", "--decrypt"],
                         input=raw[raw.index(b"-----BEGIN PGP MESSAGE"):],
                         capture_output=True, check=False)
    assert b"DECRYPTION_OKAY" in out.stderr and b"Words worth keeping." in out.stdout
    assert b"<bob@example.test>" in out.stderr  # encrypted to Bob's key


async def test_encrypting_to_someone_without_a_key_is_not_sent(mail_server, account_config,
                                                                gnupg_home):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.session is not None, "connected")
        composer = await composing(pilot, "No key")
        composer.query_one("#field-to").value = "carol@example.test"
        await pilot.press("ctrl+o")
        assert composer.status_text == "PGP: encrypt"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "NOT SENT" in composer.status_text, "refused")
        assert "gpg" in composer.status_text
