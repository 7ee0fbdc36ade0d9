"""lucid: neural-network layers written once against the Python Array API standard."""

from . import ops

__version__ = "0.1.0"

__all__ = ["__version__", "ops"]
