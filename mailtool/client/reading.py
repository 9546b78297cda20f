"""Reading a message: the text to show, its parts, folded quotes and signatures.

``text/plain`` is preferred; HTML-only mail is converted to readable text in
process with inscriptis (Apache-2.0; it lays out tables and lists, and runs
no scripts and fetches nothing).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path

_SIG = re.compile(r"^-- ?$", re.M)  # RFC 3676 §4.3 signature separator


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def html_to_text(html: str) -> str:
    """HTML -> plain text, in process."""
    from inscriptis import get_text

    return get_text(html).strip() + "\n"


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, AttributeError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def body_text(msg: Message) -> str:
    """The best text rendering: text/plain, else HTML converted, else a note."""
    if not isinstance(msg, EmailMessage):
        msg = parse(msg.as_bytes())
    part = msg.get_body(preferencelist=("plain",))
    if part is not None:
        return _decoded(part)
    part = msg.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(_decoded(part))
    return "(no text part)\n"


@dataclass(frozen=True)
class Part:
    """One leaf MIME part: its index in walk order, type, filename, size."""

    index: int
    content_type: str
    filename: str
    size: int
    is_attachment: bool


def parts(msg: EmailMessage) -> list[Part]:
    out = []
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        disposition = part.get_content_disposition()
        out.append(Part(i, part.get_content_type(), part.get_filename() or "", len(payload),
                        disposition == "attachment" or bool(part.get_filename())))
    return out


def save_part(msg: EmailMessage, index: int, directory: Path) -> Path:
    """Write part ``index`` (from :func:`parts`) into ``directory``; returns the path."""
    for i, part in enumerate(msg.walk()):
        if i == index:
            name = Path(part.get_filename() or f"part-{index}.bin").name  # no path traversal
            target = directory / name
            n = 1
            while target.exists():
                target = directory / f"{target.stem}-{n}{target.suffix}"
                n += 1
            target.write_bytes(part.get_payload(decode=True) or b"")
            return target
    raise IndexError(index)


@dataclass(frozen=True)
class Block:
    """A run of lines: ``kind`` is "text", "quote" or "signature"."""

    kind: str
    text: str


def blocks(text: str) -> list[Block]:
    """Split body text into text / quote / signature runs, for folding in the reader."""
    # a body taken from the wire keeps its CRLFs: "-- \r" must still be the separator
    text = text.replace("\r\n", "\n")
    sig = _SIG.search(text)
    main, signature = (text[: sig.start()], text[sig.start():]) if sig else (text, "")
    runs: list[tuple[str, list[str]]] = []  # lines gathered per run: joined once, not
    for line in main.split("\n"):           # re-concatenated per line (a 2 MB body took 13 s)
        kind = "quote" if line.startswith(">") else "text"
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(line)
        else:
            runs.append((kind, [line]))
    out = [Block(kind, "\n".join(lines)) for kind, lines in runs]
    if signature:
        out.append(Block("signature", signature.rstrip("\n")))
    return out


def header_summary(msg: Message, names: tuple[str, ...] = ("From", "To", "Cc", "Date",
                                                          "Subject")) -> str:
    return "\n".join(f"{h}: {msg[h]}" for h in names if msg.get(h))
