"""mailtool.client."""
