"""mailtool.mra."""
