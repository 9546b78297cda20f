"""mailtool.tui."""
