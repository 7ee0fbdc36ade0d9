"""Thin runner: ``python benchmarks/run.py [options]`` is ``python -m benchmarks.layers [options]``.

The per-layer suite lives in ``benchmarks/layers.py`` (run from a checkout); see
``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.layers import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
