"""mailtool.dns."""
