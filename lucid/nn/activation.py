"""Element-wise activations written against the Array API, with torch's values and gradients.

``ReLU`` and ``LeakyReLU`` keep NaN and take torch's gradient at 0 (0 and
``negative_slope``); ``Sigmoid`` never overflows.
"""

from __future__ import annotations

import array_api_compat

from .._typing import Array
from .module import Module

__all__ = ["LeakyReLU", "ReLU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """``max(x, 0)``, element-wise.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.ReLU()(lucid.asarray([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 2.0]
    """

    def forward(self, x: Array) -> Array:
        xp = array_api_compat.array_namespace(x)
        return xp.where(x <= 0, xp.zeros_like(x), x)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Parameters
    ----------
    negative_slope : float
        Default: 0.01.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.LeakyReLU(0.5)(lucid.asarray([-2.0, 3.0])).tolist()
    [-1.0, 3.0]
    >>> nn.LeakyReLU(0.2)
    LeakyReLU(negative_slope=0.2)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            kind = type(negative_slope).__name__
            msg = f"negative_slope must be a float, got {kind} {negative_slope!r}"
            raise TypeError(msg)
        self.negative_slope = negative_slope

    def forward(self, x: Array) -> Array:
        xp = array_api_compat.array_namespace(x)
        return xp.where(x > 0, x, x * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """Hyperbolic tangent, element-wise.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.Tanh()(lucid.zeros(2)).tolist()
    [0.0, 0.0]
    """

    def forward(self, x: Array) -> Array:
        return array_api_compat.array_namespace(x).tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, element-wise, computed without overflow.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.Sigmoid()(lucid.asarray([0.0, -1000.0])).tolist()
    [0.5, 0.0]
    """

    def forward(self, x: Array) -> Array:
        xp = array_api_compat.array_namespace(x)
        positive = x >= 0
        e = xp.exp(xp.where(positive, -x, x))  # exp(-|x|), differentiable everywhere
        one = xp.ones_like(x)
        return xp.where(positive, one / (one + e), e / (one + e))
