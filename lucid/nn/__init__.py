"""Neural-network modules on any Array API backend (NumPy, JAX, PyTorch, ...).

>>> import lucid
>>> import lucid.nn as nn
>>> nn.LazyConvTranspose2d(64, 4, stride=2, padding=1)
LazyConvTranspose2d(None, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
"""

from . import init
from ._nnx import to_nnx
from ._torch_module import to_torch
from .activation import ELU, GELU, Hardtanh, LeakyReLU, ReLU, ReLU6, Sigmoid, SiLU, Softplus, Tanh
from .batchnorm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
)
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
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .lazy import LazyModuleMixin
from .linear import Identity, LazyLinear, Linear
from .module import Module, StateDictError
from .normalization import GroupNorm, LayerNorm
from .upsampling import PixelShuffle, PixelUnshuffle, Upsample

__all__ = [
    "ELU",
    "GELU",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Dropout",
    "Flatten",
    "GroupNorm",
    "Hardtanh",
    "Identity",
    "LayerNorm",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyLinear",
    "LazyModuleMixin",
    "LeakyReLU",
    "Linear",
    "Module",
    "PixelShuffle",
    "PixelUnshuffle",
    "ReLU",
    "ReLU6",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "StateDictError",
    "Tanh",
    "Unflatten",
    "Upsample",
    "init",
    "to_nnx",
    "to_torch",
]
