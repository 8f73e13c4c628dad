"""``python -m convcost``."""

from convcost.cli.app import main

main()
