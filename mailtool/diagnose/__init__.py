"""mailtool.diagnose."""
