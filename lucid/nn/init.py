"""Torch-compatible initialisers.

The fan and gain computations are those of ``torch.nn.init``; the samples come from
lucid's one NumPy generator (:mod:`lucid.random`) and are converted to the array's
backend, device and dtype, so one seed gives the same weights everywhere.

Arrays of NumPy and PyTorch are filled in place; JAX and other immutable arrays cannot
be, so **always use the return value**: ``w = init.kaiming_uniform_(w, a=math.sqrt(5))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import random as _random
from .._backends import of
from .._typing import Array

__all__ = [
    "calculate_fan_in_and_fan_out",
    "calculate_gain",
    "kaiming_uniform_",
    "kaiming_uniform_bound",
    "uniform_",
]


def calculate_fan_in_and_fan_out(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, as ``torch.nn.init`` computes them.

    ``fan_in = shape[1] * receptive field``, ``fan_out = shape[0] * receptive field``.
    For a transposed convolution's weight ``(C_in, C_out // groups, *kernel)`` this makes
    ``fan_in = C_out / groups * prod(kernel)``.

    Examples
    --------
    >>> calculate_fan_in_and_fan_out((128, 64, 4, 4))
    (1024, 2048)
    """
    if len(shape) < 2:
        msg = (
            f"fan in and fan out need a weight with at least 2 dimensions, got shape {tuple(shape)}"
        )
        raise ValueError(msg)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain of ``torch.nn.init.calculate_gain``.

    Examples
    --------
    >>> round(calculate_gain("leaky_relu", math.sqrt(5)), 6)
    0.57735
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")  # fmt: skip
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            msg = f"negative_slope {slope!r} is not a valid number"
            raise ValueError(msg)
        return math.sqrt(2.0 / (1 + slope**2))
    msg = f"unsupported nonlinearity {nonlinearity!r}"
    raise ValueError(msg)


def kaiming_uniform_bound(
    shape: Sequence[int], a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> float:
    """The bound ``b`` of ``U(-b, b)`` that ``torch.nn.init.kaiming_uniform_`` samples from.

    Examples
    --------
    >>> math.isclose(kaiming_uniform_bound((128, 64, 4, 4), a=math.sqrt(5)), 1 / math.sqrt(64 * 16))
    True
    """
    if mode not in ("fan_in", "fan_out"):
        msg = f"mode must be 'fan_in' or 'fan_out', got {mode!r}"
        raise ValueError(msg)
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return 0.0
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return math.sqrt(3.0) * std


def _fill(array: Array, values: np.ndarray) -> Array:
    """``values`` in ``array``'s place: in place for NumPy and PyTorch, a new array otherwise."""
    backend = of(array)
    if backend is None:
        msg = f"expected an array, got {type(array).__name__}"
        raise TypeError(msg)
    return backend.fill(array, values)


def uniform_(array: Array, a: float = 0.0, b: float = 1.0) -> Array:
    """Fill ``array`` with samples of ``U(a, b)``; returns the (possibly new) array.

    Examples
    --------
    >>> import numpy as np
    >>> w = uniform_(np.empty(5), -1.0, 1.0)
    >>> bool((abs(w) <= 1).all())
    True
    """
    return _fill(array, _random.uniform(a, b, tuple(array.shape)))


def kaiming_uniform_(
    array: Array, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Array:
    """``torch.nn.init.kaiming_uniform_``: fill with ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``.

    Returns the (possibly new) array; see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> w = kaiming_uniform_(np.empty((8, 4, 3, 3)), a=math.sqrt(5))
    >>> bool((abs(w) <= 1 / math.sqrt(4 * 9)).all())
    True
    """
    bound = kaiming_uniform_bound(tuple(array.shape), a, mode, nonlinearity)
    return uniform_(array, -bound, bound)
