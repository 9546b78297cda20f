"""mailtool.cli."""
