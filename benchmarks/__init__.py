"""lucid's benchmark suite: run from a checkout, e.g. ``python -m benchmarks.networks``."""
