"""Issue 21 point 18: list-aware reply (List-Post, RFC 2369 §3.4) and one-key
unsubscribe (List-Unsubscribe, RFC 8058 one-click over verified HTTPS, else mailto)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from mailtool.client.lists import (
    ONE_CLICK_BODY,
    header_urls,
    list_post,
    list_reply,
    one_click,
    unsubscribe_plan,
)
from mailtool.client.reading import parse
from mailtool.errors import MailtoolError
from tests.tui.pilot import make_app, message, open_only_message, prompt_ready, until


def list_message(unsubscribe: str, post: str = "<mailto:dev@lists.example.test>",
                 one_click_header: bool = True, subject: str = "[dev] release") -> bytes:
    extra = f"List-Id: Dev <dev.lists.example.test>\r\nList-Post: {post}\r\n" \
            f"List-Unsubscribe: {unsubscribe}\r\n"
    if one_click_header:
        extra += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    return message(subject, "list body\n", sender="Carol <carol@example.test>",
                   extra=extra)


def test_header_urls_comments_and_bound():
    assert header_urls("<mailto:a@x.test> (the list), <https://x.test/u?a=1>") == [
        "mailto:a@x.test", "https://x.test/u?a=1"]
    assert len(header_urls(", ".join(f"<https://x.test/{i}>" for i in range(100)))) == 10


def test_list_post_and_list_reply():
    msg = parse(list_message("<https://x.test/u>"))
    assert list_post(msg) == "dev@lists.example.test"
    draft = list_reply(msg, "Alice <alice@example.test>")
    assert draft.to == "dev@lists.example.test" and draft.subject == "Re: [dev] release"
    assert draft.in_reply_to.startswith("<")
    assert list_post(parse(list_message("<https://x.test/u>", post="NO"))) is None
    with pytest.raises(MailtoolError, match="List-Post"):
        list_reply(parse(message("plain")), "alice@example.test")


def test_unsubscribe_plan_prefers_one_click_then_mailto_then_url():
    both = "<mailto:leave@x.test?subject=bye>, <https://x.test/u>"
    plan = unsubscribe_plan(parse(list_message(both)))
    assert (plan.kind, plan.url) == ("one-click", "https://x.test/u")
    # RFC 8058 §3.1: without List-Unsubscribe-Post there is no one-click
    plan = unsubscribe_plan(parse(list_message(both, one_click_header=False)))
    assert plan.kind == "mailto" and plan.draft.to == "leave@x.test"
    assert plan.draft.subject == "bye"
    # one-click never over plain http
    plan = unsubscribe_plan(parse(list_message("<http://x.test/u>")))
    assert (plan.kind, plan.url) == ("url", "http://x.test/u")
    assert unsubscribe_plan(parse(message("no list"))) is None


class Unsubscriber:
    """An HTTPS server on loopback that records the POSTs it gets (trustme certificate)."""

    def __init__(self, status: int = 200) -> None:
        self.ca = trustme.CA()
        self.posts: list[tuple[str, str, bytes]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                posts.append((self.path, self.headers.get("Content-Type", ""),
                               self.rfile.read(length)))
                self.send_response(status)
                self.send_header("Location", "https://elsewhere.test/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/unsub?u=42"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def cafile(self, tmp_path) -> str:
        path = tmp_path / "ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_one_click_posts_exactly_the_rfc_body_and_verifies_tls(tmp_path):
    web = Unsubscriber()
    try:
        assert asyncio.run(one_click(web.url, cafile=web.cafile(tmp_path))) == 200
        assert web.posts == [("/unsub?u=42", "application/x-www-form-urlencoded",
                              ONE_CLICK_BODY)]
        with pytest.raises(MailtoolError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            asyncio.run(one_click(web.url))  # a certificate nobody vouches for: refused
        assert len(web.posts) == 1
        with pytest.raises(MailtoolError, match="https"):
            asyncio.run(one_click(web.url.replace("https", "http")))
    finally:
        web.close()
    redirecting = Unsubscriber(status=302)
    try:  # RFC 8058: a redirect is not followed, and not a success
        assert asyncio.run(one_click(redirecting.url, cafile=redirecting.cafile(tmp_path))) \
            == 302
    finally:
        redirecting.close()


async def test_list_reply_and_one_key_unsubscribe(mail_server, account_config, tmp_path,
                                                  monkeypatch):
    web = Unsubscriber()
    # the TUI trusts what the system trusts; here the test CA is the system's
    monkeypatch.setenv("SSL_CERT_FILE", web.cafile(tmp_path))
    mail_server.deliver(list_message(f"<mailto:leave@lists.example.test>, <{web.url}>"))
    app = make_app(account_config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            main = await open_only_message(pilot, "list body")
            await pilot.press("L")
            await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
            assert app.screen.query_one("#field-to").value == "dev@lists.example.test"
            assert app.screen.query_one("#field-subject").value == "Re: [dev] release"
            app.screen.dismiss(None)
            await until(pilot, lambda: app.screen is main, "back")
            await pilot.press("U")
            await prompt_ready(pilot, app, "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: any("unsubscribed" in str(n.message)
                                           for n in app._notifications), "unsubscribed")
            notes = [str(n.message) for n in app._notifications]
            assert any(n.startswith("unsubscribed (127.0.0.1 answered 200)") for n in notes), notes
    finally:
        web.close()
    assert web.posts == [("/unsub?u=42", "application/x-www-form-urlencoded", ONE_CLICK_BODY)]


async def test_unsubscribe_by_mail_opens_a_filled_composer(mail_server, account_config):
    mail_server.deliver(list_message("<mailto:leave@lists.example.test?subject=unsubscribe%20me>",
                                     one_click_header=False))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_only_message(pilot, "list body")
        await pilot.press("U")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        assert app.screen.query_one("#field-to").value == "leave@lists.example.test"
        assert app.screen.query_one("#field-subject").value == "unsubscribe me"
        assert "alice@example.test" in app.screen.query_one("#field-from_").value
