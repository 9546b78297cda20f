"""The reader: headers, body text with quotes and signature folded, raw view."""

from __future__ import annotations

from email.message import EmailMessage
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from mailtool.client.reading import blocks, body_text, header_summary, parse, parts
from mailtool.tui.widgets.crypto_status import MessageStatus

FOLD_AFTER = 3  # quoted lines shown before folding
#: the body is laid out in pieces of this many lines: the first screen shows at once and
#: the rest is added between key presses (one Static of a 2 MB body took 25 s to lay out)
CHUNK_LINES = 200


class _Chunks:
    """Styled text cut into pieces of at most :data:`CHUNK_LINES` lines."""

    def __init__(self) -> None:
        self.done: list[Text] = []
        self.current = Text()
        self.lines = 0

    def add(self, text: str, style: str = "") -> None:
        lines = text.splitlines(keepends=True)
        while lines:
            take = CHUNK_LINES - self.lines  # one append per piece, not per line
            self.current.append("".join(lines[:take]), style=style)
            self.lines += min(take, len(lines))
            lines = lines[take:]
            if self.lines >= CHUNK_LINES:
                self.done.append(self.current)
                self.current, self.lines = Text(), 0

    def pieces(self) -> list[Text]:
        return [*self.done, self.current] if self.current.plain or not self.done else self.done


class Reader(VerticalScroll, can_focus=True):
    # focused (Tab, or full-screen reading), j/k scroll the text as in a pager
    BINDINGS: ClassVar = [Binding("j", "scroll_down", "Scroll down", show=False),
                          Binding("k", "scroll_up", "Scroll up", show=False)]

    DEFAULT_CSS = """
    Reader { height: 1fr; border-top: solid $primary; }
    Reader #headers { color: $text-muted; padding: 0 1; border-bottom: dashed $primary-muted; }
    Reader #body { padding: 0 1; height: auto; }
    Reader #body > Static { height: auto; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.raw: bytes = b""
        self.message: EmailMessage | None = None
        #: (folder, uid) of the message shown: what a reply marks \Answered
        self.source: tuple[str, int] | None = None
        self.all_headers = False
        self.fold_quotes = True
        self.show_raw = False
        # held, not queried, for the same reason as MainScreen's panes
        self._headers = Static(id="headers")
        #: "cached copy", PGP / S/MIME verdicts (issue 21 points 19, 20)
        self.message_status = MessageStatus(id="message-status")
        self._body = Vertical(id="body")
        self._generation = 0  # a newer message stops the rendering of an older one

    def compose(self):
        yield self._headers
        yield self.message_status
        yield self._body

    def show(self, raw: bytes, source: tuple[str, int] | None = None, *,
             cached: bool = False) -> None:
        self.raw = raw
        self.source = source
        self.message = parse(raw)
        self.message_status.show_for(raw, cached=cached)
        self.show_raw = False
        self.render_message()
        self.scroll_home(animate=False)

    def clear(self) -> None:
        self.raw, self.message, self.source = b"", None, None
        self._headers.update("")
        self.message_status.clear()
        self._set_body([])

    def on_message_status_decrypted(self, event: MessageStatus.Decrypted) -> None:
        """An encrypted message was decrypted: show the clear text (raw view keeps the
        ciphertext as received)."""
        self.message = parse(event.raw)
        self.render_message()

    @property
    def at_end(self) -> bool:
        """Nothing more below: the last line is on screen."""
        return self.scroll_y >= self.max_scroll_y

    @property
    def body_text(self) -> str:
        return "".join(str(c.render()) for c in self._body.query(Static))

    def render_message(self) -> None:
        msg = self.message
        if msg is None:
            return
        headers = self._headers
        out = _Chunks()
        if self.show_raw:
            headers.update("[raw source]")
            out.add(self.raw.decode("utf-8", "replace"))
            self._set_body(out.pieces())
            return
        if self.all_headers:
            headers.update(Text("\n".join(f"{k}: {v}" for k, v in msg.items())))
        else:
            head = header_summary(msg)
            attachments = [p for p in parts(msg) if p.is_attachment]
            if attachments:
                head += "\nAttachments: " + ", ".join(p.filename or p.content_type
                                                      for p in attachments)
            headers.update(Text(head))
        for block in blocks(body_text(msg)):
            lines = block.text.split("\n")
            if block.kind == "quote":
                if self.fold_quotes and len(lines) > FOLD_AFTER:
                    shown = "\n".join(lines[:FOLD_AFTER])
                    out.add(shown + "\n", style="dim cyan")
                    out.add(f"[… {len(lines) - FOLD_AFTER} more quoted lines, z to show]\n",
                            style="italic dim")
                else:
                    out.add(block.text + "\n", style="cyan")
            elif block.kind == "signature":
                if self.fold_quotes:
                    out.add("[-- signature, z to show]\n", style="italic dim")
                else:
                    out.add(block.text + "\n", style="dim")
            else:
                out.add(block.text + "\n")
        self._set_body(out.pieces())

    def _set_body(self, pieces: list[Text]) -> None:
        """Show the first piece now, the others as the event loop has time."""
        self._generation += 1
        self._body.remove_children()
        if pieces:
            self._body.mount(Static(pieces[0]))
        if len(pieces) > 1:
            self._mount_rest(pieces[1:], self._generation)

    @work(group="reader-render", exclusive=True, exit_on_error=False)
    async def _mount_rest(self, pieces: list[Text], generation: int) -> None:
        for piece in pieces:
            if generation != self._generation:
                return
            await self._body.mount(Static(piece))

    def toggle_headers(self) -> None:
        self.all_headers = not self.all_headers
        self.render_message()

    def toggle_quotes(self) -> None:
        self.fold_quotes = not self.fold_quotes
        self.render_message()

    def toggle_raw(self) -> None:
        self.show_raw = not self.show_raw
        self.render_message()
