"""lucid: neural-network layers written once against the Python Array API standard."""

from . import (
    nn,
    ops,
    random,
)
from ._backends import default_backend, get_default_backend, set_default_backend
from ._creation import asarray, empty, full, ones, rand, randn, zeros
from .random import manual_seed

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "asarray",
    "default_backend",
    "empty",
    "full",
    "get_default_backend",
    "manual_seed",
    "nn",
    "ones",
    "ops",
    "rand",
    "randn",
    "random",
    "set_default_backend",
    "zeros",
]
