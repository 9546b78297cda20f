"""mailtool.mra.imap."""
