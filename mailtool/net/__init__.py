"""mailtool.net."""
