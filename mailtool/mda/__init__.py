"""mailtool.mda."""
