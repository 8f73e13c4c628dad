"""``python -m convcost``."""

import os
import sys

try:
    from convcost.cli.entry import main
except KeyboardInterrupt:  # Ctrl-C while Python imports the entry point
    sys.stderr.write("convcost: aborted\n")
    sys.stderr.flush()
    os._exit(130)

main()
