"""``python -m pyposefast``: the same as the ``pyposefast`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
