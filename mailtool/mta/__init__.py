"""mailtool.mta."""
