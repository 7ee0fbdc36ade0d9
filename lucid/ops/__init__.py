"""Array-API operations: each runs on whatever arrays the caller passes.

>>> import numpy as np
>>> from lucid.ops import conv_transpose2d
>>> conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 8, 3, 3)), stride=2).shape
(1, 8, 11, 11)
"""

from ._autodiff import use_custom_grad
from ._autotune import autotune
from ._params import conv_transpose_output_size
from .conv import conv1d, conv2d, conv3d
from .conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d

__all__ = [
    "autotune",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv_transpose_output_size",
    "use_custom_grad",
]
