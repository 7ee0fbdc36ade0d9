"""Normalization layers as functions: batch, group and layer normalization.

Statistics are computed in the input's dtype with two passes (mean, then the mean of
squared deviations), which is as accurate as torch's Welford updates; variances used
for normalizing are biased, the running variance of :func:`batch_norm_stats` is
unbiased, as torch keeps it.  Every function is pure: the running statistics torch
updates in place are *returned* by :func:`batch_norm_stats`, so the same code runs
under ``jax.jit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._backends import backend_of
from ._checks import common_namespace, on_namespace, require_float_dtype
from ._plans import compiled_when_eager
from .activation import real_number

__all__ = ["batch_norm", "batch_norm_stats", "group_norm", "layer_norm"]


def check_eps(eps: object) -> float:
    """``eps`` as a float; ``TypeError``/``ValueError`` naming it unless a number >= 0."""
    value = real_number(eps, "eps")
    if value < 0:
        msg = f"eps must be non-negative, got {eps!r}"
        raise ValueError(msg)
    return value


def _per_channel(xp: Any, x: Any, name: str, array: Any | None, channels: int) -> None:
    if array is not None and tuple(array.shape) != (channels,):
        msg = (
            f"{name} must have shape ({channels},) for an input with {channels} channels "
            f"(input shape {tuple(x.shape)}), got shape {tuple(array.shape)}"
        )
        raise ValueError(msg)


def _channel_shape(x: Any) -> tuple[int, ...]:
    """The shape a per-channel vector broadcasts with against ``(N, C, *spatial)``."""
    return (1, int(x.shape[1])) + (1,) * (x.ndim - 2)


def _affine(xp: Any, y: Any, weight: Any | None, bias: Any | None, shape: tuple[int, ...]) -> Any:
    if weight is not None:
        y = y * xp.reshape(weight, shape)
    if bias is not None:
        y = y + xp.reshape(bias, shape)
    return y


def _batch_arrays(
    x: Any, running_mean: Any, running_var: Any, weight: Any, bias: Any
) -> tuple[Any, int, tuple[int, ...]]:
    xp = common_namespace(
        input=x, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    require_float_dtype(
        xp, input=x, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    if x.ndim < 2:
        msg = (
            "batch_norm expects an input of at least 2 dimensions (N, C, ...), got shape "
            f"{tuple(x.shape)}"
        )
        raise ValueError(msg)
    channels = int(x.shape[1])
    for name, array in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _per_channel(xp, x, name, array, channels)
    axes = (0, *range(2, x.ndim))
    return xp, channels, axes


def _values_per_channel(x: Any, axes: tuple[int, ...]) -> int:
    return math.prod([int(x.shape[a]) for a in axes])


@compiled_when_eager
def batch_norm(
    input: Any,
    running_mean: Any | None,
    running_var: Any | None,
    weight: Any | None = None,
    bias: Any | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Batch normalization over ``(N, C, *spatial)``: torch's ``F.batch_norm``, without mutation.

    In training each channel is normalized with its batch mean and biased batch
    variance; otherwise with ``running_mean`` and ``running_var`` (then required).
    torch also updates the running statistics in place when ``training``; lucid never
    mutates its inputs: get the updated statistics from :func:`batch_norm_stats`
    (:class:`lucid.nn.BatchNorm2d` does both).

    Parameters
    ----------
    input : array of shape ``(N, C, *spatial)``
    running_mean, running_var : arrays of shape ``(C,)`` or None
    weight, bias : arrays of shape ``(C,)`` or None
        The affine transform applied after normalizing.
    training : bool
    momentum : float or None
        Unused here (see :func:`batch_norm_stats`); accepted for torch's signature.
    eps : float
        Added to the variance.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0], [3.0]])
    >>> batch_norm(x, None, None, training=True, eps=0.0).tolist()
    [[-1.0], [1.0]]
    >>> batch_norm(x, np.array([1.0]), np.array([4.0]), eps=0.0).tolist()
    [[0.0], [1.0]]
    """
    eps = check_eps(eps)
    xp, _, axes = _batch_arrays(input, running_mean, running_var, weight, bias)
    running_mean, running_var, weight, bias = on_namespace(
        xp, running_mean, running_var, weight, bias
    )
    shape = _channel_shape(input)
    if not training and (running_mean is None or running_var is None):
        msg = (
            "batch_norm in evaluation mode (training=False) needs running_mean and "
            "running_var; pass training=True to normalize with the batch's statistics"
        )
        raise ValueError(msg)
    if training:
        _require_several_values(input, axes)
        mean = xp.mean(input, axis=axes, keepdims=True)
        centered = input - mean
        var = xp.mean(centered * centered, axis=axes, keepdims=True)
    else:
        centered = input - xp.reshape(running_mean, shape)
        var = xp.reshape(running_var, shape)
    y = centered / xp.sqrt(var + eps)
    return _affine(xp, y, weight, bias, shape)


def _require_several_values(x: Any, axes: tuple[int, ...]) -> None:
    if _values_per_channel(x, axes) <= 1:
        msg = (
            f"batch statistics need more than 1 value per channel, got input shape "
            f"{tuple(x.shape)}; use a larger batch or eval mode"
        )
        raise ValueError(msg)


@compiled_when_eager
def batch_norm_stats(
    input: Any,
    running_mean: Any,
    running_var: Any,
    momentum: float | Any = 0.1,
) -> tuple[Any, Any]:
    """The running statistics torch's training-mode ``batch_norm`` leaves behind.

    ``(1 - momentum) * running + momentum * batch`` for the mean and the *unbiased*
    variance of the batch (``n / (n - 1)`` times the biased one), as new arrays.  For
    torch's ``momentum=None`` (a cumulative average), pass ``1 / num_batches_tracked``
    (a number or a 0-d array).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0], [3.0]])
    >>> mean, var = batch_norm_stats(x, np.zeros(1), np.ones(1), momentum=0.5)
    >>> mean.tolist(), var.tolist()
    ([1.0], [1.5])
    """
    # An array factor serves torch's cumulative average, 1 / num_batches_tracked, which
    # is a traced value under jax.jit.
    factor = momentum if backend_of(momentum) is not None else real_number(momentum, "momentum")
    xp, channels, axes = _batch_arrays(input, running_mean, running_var, None, None)
    running_mean, running_var = on_namespace(xp, running_mean, running_var)
    _require_several_values(input, axes)
    count = _values_per_channel(input, axes)
    mean = xp.mean(input, axis=axes, keepdims=True)
    centered = input - mean
    unbiased = xp.sum(centered * centered, axis=axes) / (count - 1)
    batch_mean = xp.reshape(mean, (channels,))
    new_mean = (1.0 - factor) * running_mean + factor * xp.astype(batch_mean, running_mean.dtype)
    new_var = (1.0 - factor) * running_var + factor * xp.astype(unbiased, running_var.dtype)
    return new_mean, new_var


@compiled_when_eager
def group_norm(
    input: Any,
    num_groups: int,
    weight: Any | None = None,
    bias: Any | None = None,
    eps: float = 1e-5,
) -> Any:
    """Group normalization of ``(N, C, *spatial)``: torch's ``F.group_norm``.

    The channels are split into ``num_groups`` groups; each sample's group is
    normalized with its own mean and biased variance, then ``weight``/``bias`` (shape
    ``(C,)``) apply per channel.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [5.0], [7.0]]])
    >>> group_norm(x, 2, eps=0.0).ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    eps = check_eps(eps)
    xp = common_namespace(input=input, weight=weight, bias=bias)
    require_float_dtype(xp, input=input, weight=weight, bias=bias)
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        msg = f"num_groups must be a positive int, got {num_groups!r}"
        raise ValueError(msg)
    if input.ndim < 2:
        msg = (
            "group_norm expects an input of at least 2 dimensions (N, C, ...), got shape "
            f"{tuple(input.shape)}"
        )
        raise ValueError(msg)
    n, channels = int(input.shape[0]), int(input.shape[1])
    if channels % num_groups:
        msg = (
            f"group_norm needs the input's channels divisible by num_groups, got "
            f"{channels} channels (input shape {tuple(input.shape)}) and num_groups={num_groups}"
        )
        raise ValueError(msg)
    for name, array in (("weight", weight), ("bias", bias)):
        _per_channel(xp, input, name, array, channels)
    weight, bias = on_namespace(xp, weight, bias)
    # Channels split into (groups, channels per group) and reduced over every axis after
    # the group one, not merged with the spatial axes: a chunked (Dask) input keeps its
    # spatial chunks, which a merging reshape cannot.
    grouped = xp.reshape(input, (n, num_groups, channels // num_groups, *input.shape[2:]))
    axes = tuple(range(2, grouped.ndim))
    mean = xp.mean(grouped, axis=axes, keepdims=True)
    centered = grouped - mean
    var = xp.mean(centered * centered, axis=axes, keepdims=True)
    y = xp.reshape(centered / xp.sqrt(var + eps), tuple(input.shape))
    return _affine(xp, y, weight, bias, _channel_shape(input))


def normalized_shape_of(normalized_shape: object) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints) as a tuple of positive ints."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    if (
        not isinstance(shape, Sequence)
        or isinstance(shape, str)
        or not shape
        or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape)
    ):
        msg = (
            f"normalized_shape must be a positive int or a non-empty sequence of positive "
            f"ints, got {normalized_shape!r}"
        )
        raise ValueError(msg)
    return tuple(int(s) for s in shape)


@compiled_when_eager
def layer_norm(
    input: Any,
    normalized_shape: int | Sequence[int],
    weight: Any | None = None,
    bias: Any | None = None,
    eps: float = 1e-5,
) -> Any:
    """Layer normalization over the trailing ``normalized_shape``: torch's ``F.layer_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> layer_norm(np.array([[1.0, 3.0]]), (2,), eps=0.0).tolist()
    [[-1.0, 1.0]]
    """
    eps = check_eps(eps)
    shape = normalized_shape_of(normalized_shape)
    xp = common_namespace(input=input, weight=weight, bias=bias)
    require_float_dtype(xp, input=input, weight=weight, bias=bias)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or input.ndim < len(shape):
        msg = (
            f"layer_norm expects an input whose trailing dimensions are normalized_shape="
            f"{list(shape)}, got input shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    for name, array in (("weight", weight), ("bias", bias)):
        if array is not None and tuple(array.shape) != shape:
            msg = f"{name} must have shape {shape} (normalized_shape), got {tuple(array.shape)}"
            raise ValueError(msg)
    weight, bias = on_namespace(xp, weight, bias)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    mean = xp.mean(input, axis=axes, keepdims=True)
    centered = input - mean
    var = xp.mean(centered * centered, axis=axes, keepdims=True)
    y = centered / xp.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y
