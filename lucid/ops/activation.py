"""Element-wise activations with torch's values, gradients and NaN handling.

Each function takes a real floating array of any Array API library and returns a new
array of the same namespace, device, dtype and shape.  Where torch's derivative at a
kink is a convention, lucid takes torch's: ``relu`` and ``hardtanh`` have derivative 0
at their corners (``hardtanh``: at ``min_val`` and ``max_val`` themselves).  Branches
that are not selected are clamped first, so no ``inf`` or ``nan`` of an unused branch
reaches a gradient.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat

from ._checks import describe
from ._special import erf

__all__ = [
    "elu",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softplus",
    "tanh",
]

GELU_APPROXIMATIONS = ("none", "tanh")


def real_number(value: object, name: str) -> float:
    """``value`` as a float; ``TypeError`` naming ``name`` unless it is a real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{name} must be a real number, got {type(value).__name__} {value!r}"
        raise TypeError(msg)
    if not math.isfinite(value):
        msg = f"{name} must be finite, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _floating(x: Any, op: str) -> Any:
    """The namespace of ``x``; ``TypeError`` unless ``x`` is a real floating array."""
    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        msg = f"{op}: input must be an array of an Array API library, got {describe(x)}"
        raise TypeError(msg) from None
    if not xp.isdtype(x.dtype, "real floating"):
        msg = f"{op} expects a real floating array (float32 or float64), got dtype {x.dtype}"
        raise TypeError(msg)
    return xp


def relu(x: Any) -> Any:
    """``max(x, 0)``; NaN stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> relu(np.array([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 2.0]
    """
    xp = _floating(x, "relu")
    return xp.where(x <= 0, xp.zeros_like(x), x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> leaky_relu(np.array([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    slope = real_number(negative_slope, "negative_slope")
    xp = _floating(x, "leaky_relu")
    return xp.where(x > 0, x, x * slope)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent.

    >>> import numpy as np
    >>> tanh(np.zeros(2)).tolist()
    [0.0, 0.0]
    """
    return _floating(x, "tanh").tanh(x)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``, computed without overflow.

    >>> import numpy as np
    >>> sigmoid(np.array([0.0, -1000.0])).tolist()
    [0.5, 0.0]
    """
    xp = _floating(x, "sigmoid")
    positive = x >= 0
    e = xp.exp(xp.where(positive, -x, x))  # exp(-|x|), differentiable everywhere
    one = xp.ones_like(x)
    return xp.where(positive, one / (one + e), e / (one + e))


def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called swish).

    >>> import numpy as np
    >>> silu(np.array([0.0, 1.0])).round(6).tolist()
    [0.0, 0.731059]
    """
    _floating(x, "silu")
    return x * sigmoid(x)


def gelu(x: Any, approximate: str = "none") -> Any:
    """``x * Phi(x)``, Phi the standard normal CDF; ``approximate='tanh'`` as torch's.

    Parameters
    ----------
    x : array
    approximate : {'none', 'tanh'}
        ``'none'``: the exact ``0.5 x (1 + erf(x / sqrt 2))``; ``'tanh'``:
        ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))``.

    Examples
    --------
    >>> import numpy as np
    >>> gelu(np.array([-1.0, 0.0, 1.0])).round(6).tolist()
    [-0.158655, 0.0, 0.841345]
    >>> gelu(np.array([1.0]), approximate="tanh").round(6).tolist()
    [0.841192]
    """
    check_gelu_approximation(approximate)
    xp = _floating(x, "gelu")
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + xp.tanh(inner))
    return 0.5 * x * (1.0 + erf(xp, x * (1.0 / math.sqrt(2.0))))


def check_gelu_approximation(approximate: object) -> str:
    """``approximate`` if it is ``'none'`` or ``'tanh'``; ``ValueError`` otherwise."""
    if not (isinstance(approximate, str) and approximate in GELU_APPROXIMATIONS):
        msg = f"approximate must be 'none' or 'tanh', got {approximate!r}"
        raise ValueError(msg)
    return approximate


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> import numpy as np
    >>> elu(np.array([-1.0, 2.0])).round(6).tolist()
    [-0.632121, 2.0]
    """
    alpha = real_number(alpha, "alpha")
    xp = _floating(x, "elu")
    negative = xp.minimum(x, xp.zeros_like(x))  # exp of the unused branch never overflows
    return xp.where(x > 0, x, alpha * xp.expm1(negative))


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    >>> import numpy as np
    >>> softplus(np.array([0.0, 30.0])).round(6).tolist()
    [0.693147, 30.0]
    """
    beta = real_number(beta, "beta")
    threshold = real_number(threshold, "threshold")
    if beta == 0:
        msg = "beta must be non-zero, got 0"
        raise ValueError(msg)
    xp = _floating(x, "softplus")
    scaled = x * beta
    linear = scaled > threshold
    safe = xp.where(linear, xp.zeros_like(scaled), scaled)
    return xp.where(linear, x, xp.log1p(xp.exp(safe)) / beta)


def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    """``x`` clipped to ``[min_val, max_val]``; derivative 0 at and beyond the corners.

    >>> import numpy as np
    >>> hardtanh(np.array([-3.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    low, high = check_hardtanh_range(min_val, max_val)
    xp = _floating(x, "hardtanh")
    low_a, high_a = xp.full_like(x, low), xp.full_like(x, high)
    return xp.where(x <= low, low_a, xp.where(x >= high, high_a, x))


def check_hardtanh_range(min_val: object, max_val: object) -> tuple[float, float]:
    """``(min_val, max_val)`` as floats; ``ValueError`` unless ``max_val > min_val``."""
    low = real_number(min_val, "min_val")
    high = real_number(max_val, "max_val")
    if high <= low:
        msg = f"max_val must be greater than min_val, got min_val={min_val!r}, max_val={max_val!r}"
        raise ValueError(msg)
    return low, high


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``: ``hardtanh(x, 0, 6)``.

    >>> import numpy as np
    >>> relu6(np.array([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    """
    _floating(x, "relu6")
    return hardtanh(x, 0.0, 6.0)
