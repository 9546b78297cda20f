"""mailtool.protocol.imap."""
