"""Neural-network modules on any Array API backend (NumPy, JAX, PyTorch, ...).

>>> import lucid
>>> import lucid.nn as nn
>>> nn.LazyConvTranspose2d(64, 4, stride=2, padding=1)
LazyConvTranspose2d(None, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
"""

from . import init
from ._nnx import to_nnx
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import Sequential
from .conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
)
from .lazy import LazyModuleMixin
from .module import Module, StateDictError

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyModuleMixin",
    "LeakyReLU",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "StateDictError",
    "Tanh",
    "init",
    "to_nnx",
]
