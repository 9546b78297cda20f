"""``python -m mailtool``."""

from mailtool.cli.main import main

main()
