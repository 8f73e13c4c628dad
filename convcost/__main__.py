"""``python -m convcost``."""

from convcost.cli.entry import main

main()
