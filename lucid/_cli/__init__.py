"""Command-line entry points behind ``python -m lucid``."""
