"""mailtool.store."""
