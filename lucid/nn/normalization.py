"""Normalization modules: ``GroupNorm`` and ``LayerNorm`` (``BatchNorm*`` in :mod:`.batchnorm`).

torch's classes, arguments, parameter names (``weight``, ``bias``), initial values
(ones and zeros) and reprs, over :mod:`lucid.ops.normalization`.  An input with the
wrong number of channels (or trailing shape) is a ``ValueError`` saying what the layer
was built for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import ops
from .._typing import Array, DeviceLike, DTypeLike
from ..ops.normalization import check_eps, normalized_shape_of
from ._factory import arrays_from_numpy, check_floating_input, flag, placement, positive_int
from .module import Module

__all__ = ["GroupNorm", "LayerNorm", "affine_parameters", "check_channels"]


def check_channels(module: Module, x: Array, channels: int, axis: int = 1) -> None:
    """``ValueError`` unless ``x`` has ``channels`` entries along ``axis``."""
    if x.ndim <= axis or int(x.shape[axis]) != channels:
        msg = (
            f"{type(module).__name__} was built for {channels} channels (num_features="
            f"{channels}) but got input of shape {tuple(x.shape)}, whose dimension {axis} is "
            f"{'missing' if x.ndim <= axis else int(x.shape[axis])}"
        )
        raise ValueError(msg)


def affine_parameters(
    module: Module,
    shape: tuple[int, ...],
    weight: bool,
    bias: bool,
    device: DeviceLike,
    dtype: DTypeLike,
) -> None:
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or ``None`` for each."""
    values = {
        "weight": np.ones(shape) if weight else None,
        "bias": np.zeros(shape) if bias else None,
    }
    for name, value in arrays_from_numpy(values, *placement(device, dtype)).items():
        module.register_parameter(name, value)


class GroupNorm(Module):
    """Normalize each sample's ``num_groups`` channel groups (torch's ``nn.GroupNorm``).

    Parameters
    ----------
    num_groups : int
    num_channels : int
        Divisible by ``num_groups``.
    eps : float
    affine : bool
        Learn a per-channel ``weight`` (ones) and, with ``bias``, ``bias`` (zeros).
    bias : bool, keyword-only
    device, dtype : optional

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> norm = nn.GroupNorm(2, 6)
    >>> norm(lucid.randn(4, 6, 5, 5)).shape
    (4, 6, 5, 5)
    >>> norm
    GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_groups = positive_int(num_groups, "num_groups")
        self.num_channels = positive_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            msg = (
                f"num_channels must be divisible by num_groups, got num_channels="
                f"{num_channels} and num_groups={num_groups}"
            )
            raise ValueError(msg)
        self.eps = check_eps(eps)
        self.affine = flag(affine, "affine")
        with_bias = flag(bias, "bias")
        affine_parameters(self, (self.num_channels,), affine, affine and with_bias, device, dtype)

    def forward(self, x: Array) -> Array:
        check_floating_input(self, x, self.weight)
        check_channels(self, x, self.num_channels)
        return ops.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` (torch's ``nn.LayerNorm``).

    Parameters
    ----------
    normalized_shape : int or tuple of ints
    eps : float
    elementwise_affine : bool
        Learn ``weight`` (ones) and, with ``bias``, ``bias`` (zeros) of that shape.
    bias : bool
    device, dtype : optional

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> norm = nn.LayerNorm(8)
    >>> norm(lucid.randn(2, 3, 8)).shape
    (2, 3, 8)
    >>> norm
    LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_of(normalized_shape)
        self.eps = check_eps(eps)
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine")
        with_bias = flag(bias, "bias")
        affine_parameters(
            self,
            self.normalized_shape,
            elementwise_affine,
            elementwise_affine and with_bias,
            device,
            dtype,
        )

    def forward(self, x: Array) -> Array:
        check_floating_input(self, x, self.weight)
        n = len(self.normalized_shape)
        if x.ndim < n or tuple(int(s) for s in x.shape[x.ndim - n :]) != self.normalized_shape:
            msg = (
                f"LayerNorm was built for normalized_shape={self.normalized_shape} but got input "
                f"of shape {tuple(x.shape)}; its trailing dimensions must match"
            )
            raise ValueError(msg)
        return ops.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
            f"{self.elementwise_affine}, bias={self.bias is not None}"
        )
