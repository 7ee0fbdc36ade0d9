"""``python -m lucid [command] [options]``; ``python -m lucid --help`` lists the commands."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
