"""mailtool.protocol."""
