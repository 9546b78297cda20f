"""mailtool.protocol.smtp."""
