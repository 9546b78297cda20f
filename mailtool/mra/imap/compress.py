"""COMPRESS=DEFLATE (RFC 4978): the rest of the session is raw DEFLATE both ways.

The transform itself lives in the connection layer
(:meth:`mailtool.net.connection.Connection.start_compression`), under the same
bounds as any session: unsent output is counted in compressed bytes, and input
is inflated only as far as the input buffer has room.

Accepted once logged in, as Dovecot does: a connection that has not
authenticated is not worth zlib's ~300 KB, and RFC 4978 §3's own example
compresses after LOGIN. Before login the command is unknown (not advertised).
"""

from __future__ import annotations

from mailtool.mra.imap import wire
from mailtool.mra.imap.session import ANSWERED, AUTH, Done, Session, bad, command, no
from mailtool.protocol.imap.extension_commands import Compress

#: the capability this module implements
CAPABILITY = "COMPRESS=DEFLATE"


@command("COMPRESS", states=AUTH)
async def compress(s: Session, cmd: Compress) -> Done:
    if s.conn.compressed:
        # RFC 4978 §3 + RFC 5530 §3: the same mechanism is active already
        raise no("DEFLATE is active already", "COMPRESSIONACTIVE")
    ssl_object = s.conn.get_extra_info("ssl_object")
    if ssl_object is not None and ssl_object.compression() is not None:
        raise no("TLS compresses this connection already", "COMPRESSIONACTIVE")
    if cmd.mechanism != "DEFLATE":
        raise bad(f"Unknown compression mechanism {cmd.mechanism}")
    if s.reader.pending or s.conn.input_pending():
        # RFC 4978 §3: the client sends nothing until it has seen the result; bytes
        # already here could be read as neither plain text nor DEFLATE with certainty
        raise bad("COMPRESS must not be pipelined")
    s.send(wire.status(cmd.tag, "OK", "DEFLATE active"))
    await s.flush()
    # RFC 4978 §3: compressed from right after the CRLF of the tagged OK
    s.conn.start_compression()
    return ANSWERED


__all__ = ["CAPABILITY", "compress"]
