"""``python -m convcost``."""

from .cli import main

main()
