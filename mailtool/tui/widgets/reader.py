"""The reader: headers, body text with quotes and signature folded, raw view."""

from __future__ import annotations

from email.message import EmailMessage

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from mailtool.client.reading import blocks, body_text, header_summary, parse, parts

FOLD_AFTER = 3  # quoted lines shown before folding


class Reader(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    Reader { height: 1fr; border-top: solid $primary; }
    Reader #headers { color: $text-muted; padding: 0 1; border-bottom: dashed $primary-muted; }
    Reader #body { padding: 0 1; }
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
        self._body = Static(id="body")

    def compose(self):
        yield self._headers
        yield self._body

    def show(self, raw: bytes, source: tuple[str, int] | None = None) -> None:
        self.raw = raw
        self.source = source
        self.message = parse(raw)
        self.show_raw = False
        self.render_message()
        self.scroll_home(animate=False)

    def clear(self) -> None:
        self.raw, self.message, self.source = b"", None, None
        self._headers.update("")
        self._body.update("")

    @property
    def body_text(self) -> str:
        return str(self._body.render())

    def render_message(self) -> None:
        msg = self.message
        if msg is None:
            return
        headers = self._headers
        body = self._body
        if self.show_raw:
            headers.update("[raw source]")
            body.update(Text(self.raw.decode("utf-8", "replace")))
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
        text = Text()
        for block in blocks(body_text(msg)):
            lines = block.text.split("\n")
            if block.kind == "quote":
                if self.fold_quotes and len(lines) > FOLD_AFTER:
                    shown = "\n".join(lines[:FOLD_AFTER])
                    text.append(shown + "\n", style="dim cyan")
                    text.append(f"[… {len(lines) - FOLD_AFTER} more quoted lines, z to show]\n",
                                style="italic dim")
                else:
                    text.append(block.text + "\n", style="cyan")
            elif block.kind == "signature":
                if self.fold_quotes:
                    text.append("[-- signature, z to show]\n", style="italic dim")
                else:
                    text.append(block.text + "\n", style="dim")
            else:
                text.append(block.text + "\n")
        body.update(text)

    def toggle_headers(self) -> None:
        self.all_headers = not self.all_headers
        self.render_message()

    def toggle_quotes(self) -> None:
        self.fold_quotes = not self.fold_quotes
        self.render_message()

    def toggle_raw(self) -> None:
        self.show_raw = not self.show_raw
        self.render_message()
