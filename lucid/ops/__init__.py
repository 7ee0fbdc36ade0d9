"""Array-API operations: each runs on whatever arrays the caller passes.

>>> import numpy as np
>>> from lucid.ops import conv_transpose2d
>>> conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 8, 3, 3)), stride=2).shape
(1, 8, 11, 11)
"""

from ._autodiff import use_custom_grad
from ._autotune import autotune
from ._params import conv_transpose_output_size
from .activation import (
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    relu,
    relu6,
    sigmoid,
    silu,
    softplus,
    tanh,
)
from .conv import conv1d, conv2d, conv3d
from .conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d
from .dropout import dropout
from .linear import linear
from .normalization import batch_norm, batch_norm_stats, group_norm, layer_norm
from .resample import interpolate, pixel_shuffle, pixel_unshuffle

__all__ = [
    "autotune",
    "batch_norm",
    "batch_norm_stats",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv_transpose_output_size",
    "dropout",
    "elu",
    "gelu",
    "group_norm",
    "hardtanh",
    "interpolate",
    "layer_norm",
    "leaky_relu",
    "linear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softplus",
    "tanh",
    "use_custom_grad",
]
