"""Element-wise activation modules: torch's classes, arguments and reprs over :mod:`lucid.ops`.

``inplace=`` is accepted wherever torch has it, so torch code ports unchanged
(``nn.ReLU(True)``), but lucid never mutates its input: it always returns a new
array (JAX arrays cannot be changed in place, and one behaviour everywhere is the
point).  ``ReLU`` and ``LeakyReLU`` keep NaN and take torch's gradient at 0 (0 and
``negative_slope``); ``Sigmoid`` never overflows.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._typing import Array
from ..ops.activation import check_gelu_approximation, check_hardtanh_range, real_number
from ._factory import flag
from .module import Module

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
]


def _checked_number(value: Any, name: str) -> Any:
    """``value`` as given (torch keeps ints as ints in reprs), once it is a real number."""
    real_number(value, name)
    return value


class _InplaceActivation(Module):
    """An activation with torch's ``inplace`` flag (accepted; lucid returns a new array)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace")

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """``max(x, 0)``, element-wise.

    Parameters
    ----------
    inplace : bool
        Accepted for torch's signature; lucid always returns a new array.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.ReLU()(lucid.asarray([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 2.0]
    >>> nn.ReLU(True)
    ReLU(inplace=True)
    """

    def forward(self, x: Array) -> Array:
        return ops.relu(x)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Parameters
    ----------
    negative_slope : float
        Default: 0.01.
    inplace : bool
        Accepted for torch's signature; lucid always returns a new array.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.LeakyReLU(0.5)(lucid.asarray([-2.0, 3.0])).tolist()
    [-1.0, 3.0]
    >>> nn.LeakyReLU(0.2, inplace=True)
    LeakyReLU(negative_slope=0.2, inplace=True)
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            kind = type(negative_slope).__name__
            msg = f"negative_slope must be a float, got {kind} {negative_slope!r}"
            raise TypeError(msg)
        self.negative_slope = negative_slope
        self.inplace = flag(inplace, "inplace")

    def forward(self, x: Array) -> Array:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


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
        return ops.tanh(x)


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
        return ops.sigmoid(x)


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)``, element-wise (``inplace`` accepted, a new array returned).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.SiLU()(lucid.asarray([0.0])).tolist()
    [0.0]
    """

    def forward(self, x: Array) -> Array:
        return ops.silu(x)


class GELU(Module):
    """``x * Phi(x)`` (exact, with erf) or torch's tanh approximation.

    Parameters
    ----------
    approximate : {'none', 'tanh'}

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.GELU()(lucid.asarray([0.0])).tolist()
    [0.0]
    >>> nn.GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_gelu_approximation(approximate)

    def forward(self, x: Array) -> Array:
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.ELU(alpha=0.5)
    ELU(alpha=0.5)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = _checked_number(alpha, "alpha")
        self.inplace = flag(inplace, "inplace")

    def forward(self, x: Array) -> Array:
        return ops.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.Softplus()
    Softplus(beta=1.0, threshold=20.0)
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _checked_number(beta, "beta")
        self.threshold = _checked_number(threshold, "threshold")
        if beta == 0:
            msg = "beta must be non-zero, got 0"
            raise ValueError(msg)

    def forward(self, x: Array) -> Array:
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``.

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.Hardtanh(-2.0, 2.0)
    Hardtanh(min_val=-2.0, max_val=2.0)
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        check_hardtanh_range(min_val, max_val)
        self.min_val, self.max_val = min_val, max_val
        self.inplace = flag(inplace, "inplace")

    def forward(self, x: Array) -> Array:
        return ops.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``.

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.ReLU6(inplace=True)
    ReLU6(inplace=True)
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
