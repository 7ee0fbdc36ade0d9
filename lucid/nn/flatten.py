"""``Flatten`` and ``Unflatten``: reshapes of a range of axes, as torch's modules."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import array_api_compat

from .._typing import Array
from .module import Module

__all__ = ["Flatten", "Unflatten"]


def _axis(value: object, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        msg = f"{name} must be an int, got {type(value).__name__} {value!r}"
        raise TypeError(msg)
    return operator.index(value)


def _normalized(axis: int, ndim: int, name: str) -> int:
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        msg = f"{name}={axis} is out of range for an input with {ndim} dimensions"
        raise ValueError(msg)
    return axis % max(ndim, 1)


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` into one (torch's ``nn.Flatten``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.Flatten()(lucid.zeros(32, 1, 5, 5)).shape
    (32, 25)
    >>> nn.Flatten(0, 2)
    Flatten(start_dim=0, end_dim=2)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _axis(start_dim, "start_dim")
        self.end_dim = _axis(end_dim, "end_dim")

    def forward(self, x: Array) -> Array:
        xp = array_api_compat.array_namespace(x)
        start = _normalized(self.start_dim, x.ndim, "start_dim")
        end = _normalized(self.end_dim, x.ndim, "end_dim")
        if start > end:
            msg = (
                f"flatten() has invalid args: start_dim={self.start_dim} cannot come after "
                f"end_dim={self.end_dim} for an input with {x.ndim} dimensions"
            )
            raise ValueError(msg)
        shape = tuple(int(s) for s in x.shape)
        merged = math.prod(shape[start : end + 1])
        return xp.reshape(x, (*shape[:start], merged, *shape[end + 1 :]))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (torch's ``nn.Unflatten``; one ``-1`` allowed).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.Unflatten(1, (2, 5, 5))(lucid.zeros(2, 50)).shape
    (2, 2, 5, 5)
    >>> nn.Unflatten(1, (2, 5, 5))
    Unflatten(dim=1, unflattened_size=(2, 5, 5))
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = _axis(dim, "dim")
        if (
            not isinstance(unflattened_size, Sequence)
            or isinstance(unflattened_size, str)
            or not unflattened_size
            or any(isinstance(s, bool) or not isinstance(s, int) for s in unflattened_size)
            or sum(s == -1 for s in unflattened_size) > 1
            or any(s < -1 or s == 0 for s in unflattened_size)
        ):
            msg = (
                "unflattened_size must be a non-empty tuple of positive ints (at most one -1), "
                f"got {unflattened_size!r}"
            )
            raise ValueError(msg)
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Array) -> Array:
        xp = array_api_compat.array_namespace(x)
        dim = _normalized(self.dim, x.ndim, "dim")
        shape = tuple(int(s) for s in x.shape)
        known = math.prod([s for s in self.unflattened_size if s != -1])
        size = shape[dim]
        if (-1 in self.unflattened_size and size % known) or (
            -1 not in self.unflattened_size and known != size
        ):
            msg = (
                f"unflattened_size={self.unflattened_size} does not fit dimension {self.dim} of "
                f"size {size} (input shape {shape})"
            )
            raise ValueError(msg)
        new = tuple(size // known if s == -1 else s for s in self.unflattened_size)
        return xp.reshape(x, (*shape[:dim], *new, *shape[dim + 1 :]))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
