"""Thin runner: ``python benchmarks/run.py [options]`` is ``python -m lucid bench [options]``.

The suite itself lives in ``lucid/_cli/bench.py`` so that it also runs from an installed
lucid; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import sys

from lucid._cli.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
